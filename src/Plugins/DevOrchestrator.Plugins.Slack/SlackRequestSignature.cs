using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.Plugins.Slack;

/// <summary>
/// Slack's request signing (version <c>v0</c>): <c>X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret,
/// "v0:{X-Slack-Request-Timestamp}:{raw body}"))</c>, the timestamp in Unix seconds.
/// </summary>
public static class SlackRequestSignature
{
    public const string SignatureHeader = "X-Slack-Signature";
    public const string TimestampHeader = "X-Slack-Request-Timestamp";

    /// <summary>The replay window Slack recommends.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(5);

    private const string Version = "v0";

    /// <summary>Checks a request: headers present, timestamp within <paramref name="window"/> of <paramref name="now"/>, signature matching in constant time.</summary>
    public static SlackSignatureCheck Verify(string signingSecret, string? timestampHeader, ReadOnlySpan<byte> body, string? signatureHeader, DateTimeOffset now, TimeSpan window)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingSecret);
        if (string.IsNullOrWhiteSpace(timestampHeader) || string.IsNullOrWhiteSpace(signatureHeader))
        {
            return SlackSignatureCheck.Missing;
        }

        var timestampText = timestampHeader.Trim();
        if (!long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds < DateTimeOffset.MinValue.ToUnixTimeSeconds() || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return SlackSignatureCheck.Invalid;
        }

        if ((now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > window)
        {
            return SlackSignatureCheck.Stale;
        }

        var signature = signatureHeader.Trim();
        if (!signature.StartsWith(Version + "=", StringComparison.Ordinal))
        {
            return SlackSignatureCheck.Invalid;
        }

        return WebhookSignatures.IsHmacSha256(signingSecret, BaseString(timestampText, body), signature.AsSpan(Version.Length + 1))
            ? SlackSignatureCheck.Valid
            : SlackSignatureCheck.Invalid;
    }

    /// <summary>The <c>X-Slack-Signature</c> value of a body at a timestamp (what Slack sends; tests sign with it).</summary>
    public static string Sign(string signingSecret, string timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingSecret);
        ArgumentException.ThrowIfNullOrEmpty(timestamp);
        return Version + "=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingSecret), BaseString(timestamp, body)));
    }

    /// <summary>What Slack signs: <c>v0:{timestamp}:{body}</c>.</summary>
    private static byte[] BaseString(string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{Version}:{timestamp}:");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return message;
    }
}
