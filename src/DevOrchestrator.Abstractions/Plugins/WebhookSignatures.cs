using System.Security.Cryptography;
using System.Text;

namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>The check every vendor's webhook signature comes down to: a hex HMAC-SHA256, compared in constant time.</summary>
public static class WebhookSignatures
{
    /// <summary>
    /// Whether <paramref name="hex"/> is the HMAC-SHA256 of <paramref name="message"/> keyed with
    /// <paramref name="secret"/>; false for an empty secret or anything that is not 64 hex digits.
    /// </summary>
    public static bool IsHmacSha256(string secret, ReadOnlySpan<byte> message, ReadOnlySpan<char> hex)
    {
        Span<byte> given = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (string.IsNullOrEmpty(secret) || hex.Length != given.Length * 2
            || Convert.FromHexString(hex, given, out _, out var written) != System.Buffers.OperationStatus.Done || written != given.Length)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message, expected);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}
