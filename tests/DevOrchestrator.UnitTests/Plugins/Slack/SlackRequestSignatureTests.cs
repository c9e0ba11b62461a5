using System.Text;
using DevOrchestrator.Plugins.Slack;

namespace DevOrchestrator.UnitTests.Plugins.Slack;

public sealed class SlackRequestSignatureTests
{
    // Slack's own worked example ("Verifying requests from Slack"), checked against an independent HMAC implementation.
    private const string DocsSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string DocsTimestamp = "1531420618";
    private const string DocsBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    private const string DocsSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    private static readonly DateTimeOffset DocsNow = DateTimeOffset.FromUnixTimeSeconds(1531420618);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    [Fact]
    public void Slacks_documented_example_is_valid()
    {
        Assert.Equal(DocsSignature, SlackRequestSignature.Sign(DocsSecret, DocsTimestamp, Encoding.UTF8.GetBytes(DocsBody)));
        Assert.Equal(SlackSignatureCheck.Valid, Verify(DocsSecret, DocsTimestamp, DocsBody, DocsSignature, DocsNow));
    }

    [Fact]
    public void A_fresh_signature_is_valid_within_the_window_either_side()
    {
        Assert.Equal(SlackSignatureCheck.Valid, Verify(DocsSecret, DocsTimestamp, DocsBody, DocsSignature, DocsNow.AddMinutes(5)));
        Assert.Equal(SlackSignatureCheck.Valid, Verify(DocsSecret, DocsTimestamp, DocsBody, DocsSignature, DocsNow.AddMinutes(-5)));
        Assert.Equal(SlackSignatureCheck.Valid, Verify(DocsSecret, DocsTimestamp, DocsBody, DocsSignature.ToUpperInvariant().Replace("V0=", "v0=", StringComparison.Ordinal), DocsNow));
    }

    [Fact]
    public void A_tampered_body_is_invalid()
    {
        var tampered = DocsBody.Replace("text=", "text=rm%20-rf", StringComparison.Ordinal);
        Assert.Equal(SlackSignatureCheck.Invalid, Verify(DocsSecret, DocsTimestamp, tampered, DocsSignature, DocsNow));
        Assert.Equal(SlackSignatureCheck.Invalid, Verify(DocsSecret, DocsTimestamp, DocsBody + " ", DocsSignature, DocsNow));
    }

    [Fact]
    public void Another_secret_is_invalid()
    {
        Assert.Equal(SlackSignatureCheck.Invalid, Verify("8f742231b10e8888abcd99yyyzzz85a6", DocsTimestamp, DocsBody, DocsSignature, DocsNow));
    }

    [Fact]
    public void A_changed_timestamp_is_invalid_even_within_the_window()
    {
        Assert.Equal(SlackSignatureCheck.Invalid, Verify(DocsSecret, "1531420619", DocsBody, DocsSignature, DocsNow));
    }

    [Theory]
    [InlineData(301)]
    [InlineData(-301)]
    [InlineData(86_400)]
    [InlineData(-86_400)]
    public void A_timestamp_outside_the_window_is_stale_either_direction(int secondsFromNow)
    {
        // Correctly signed, but replayed later (positive) or from a clock far ahead (negative).
        Assert.Equal(SlackSignatureCheck.Stale, Verify(DocsSecret, DocsTimestamp, DocsBody, DocsSignature, DocsNow.AddSeconds(secondsFromNow)));
    }

    [Theory]
    [InlineData(null, DocsSignature)]
    [InlineData("", DocsSignature)]
    [InlineData(DocsTimestamp, null)]
    [InlineData(DocsTimestamp, "")]
    [InlineData(null, null)]
    public void Missing_headers_are_missing(string? timestamp, string? signature)
    {
        Assert.Equal(SlackSignatureCheck.Missing, Verify(DocsSecret, timestamp, DocsBody, signature, DocsNow));
    }

    [Theory]
    [InlineData("v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")]
    [InlineData("a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")]
    [InlineData("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b5")]
    [InlineData("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50300")]
    [InlineData("v0=z2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")]
    [InlineData("v0=")]
    [InlineData("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503,v0=00")]
    public void A_malformed_signature_is_invalid(string signature)
    {
        Assert.Equal(SlackSignatureCheck.Invalid, Verify(DocsSecret, DocsTimestamp, DocsBody, signature, DocsNow));
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("1531420618.5")]
    [InlineData("-1531420618")]
    [InlineData("99999999999999999999")]
    public void A_timestamp_that_is_not_unix_seconds_is_invalid(string timestamp)
    {
        Assert.Equal(SlackSignatureCheck.Invalid, Verify(DocsSecret, timestamp, DocsBody, DocsSignature, DocsNow));
    }

    [Fact]
    public void The_body_is_taken_as_raw_bytes()
    {
        var body = Encoding.UTF8.GetBytes("text=caf%C3%A9&extra=é");
        var signature = SlackRequestSignature.Sign("s3cret", "1700000000", body);
        Assert.Equal(SlackSignatureCheck.Valid, SlackRequestSignature.Verify("s3cret", "1700000000", body, signature, DateTimeOffset.FromUnixTimeSeconds(1700000000), Window));
        body[^1] ^= 1;
        Assert.Equal(SlackSignatureCheck.Invalid, SlackRequestSignature.Verify("s3cret", "1700000000", body, signature, DateTimeOffset.FromUnixTimeSeconds(1700000000), Window));
    }

    private static SlackSignatureCheck Verify(string secret, string? timestamp, string body, string? signature, DateTimeOffset now) =>
        SlackRequestSignature.Verify(secret, timestamp, Encoding.UTF8.GetBytes(body), signature, now, Window);
}
