using DevOrchestrator.Features.Workspaces;

namespace DevOrchestrator.UnitTests.Workspaces;

/// <summary>
/// Each rule of the secret scan on a planted value (built here at run time, so this repository holds no
/// credential-shaped literal) and on a near miss that must pass; the diff reader's file and line numbers; the allow-list.
/// </summary>
public sealed class SecretScanTests
{
    /// <summary>A deterministic random-looking string of <paramref name="length"/> characters from <paramref name="alphabet"/>.</summary>
    internal static string Random(int length, string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", int seed = 7)
    {
        var random = new Random(seed);
        return new string([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
    }

    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// <summary>Parts joined with dashes: key prefixes (<c>sk</c>, <c>ant</c>…) are assembled here, never written whole.</summary>
    private static string Dashed(params string[] parts) => string.Join('-', parts);

    public static TheoryData<string, string, string> Planted() => new()
    {
        { "github-token", "token = \"" + "gh" + "p_" + Random(36) + "\"", "gh" + "p_" + Random(20) },
        { "github-token", "GH=" + "gh" + "s_" + Random(36), "gh" + "x_" + Random(36) },
        { "github-token", "pat: " + "github" + "_pat_" + Random(22) + "_" + Random(59, seed: 3), "github" + "_pat_short" },
        { "slack-token", "SLACK=" + "xo" + "xb-" + "123456789012-1234567890123-" + Random(24), "SLACK_BOT_TOKEN=" + "xo" + "xb-…" },
        { "slack-token", "user " + "xo" + "xp-" + "12345678901-" + Random(30), "xoxo-hugs-and-kisses-everyone" },
        { "slack-app-token", "app: " + "xa" + "pp-1-" + "A0123BCDEFG-1234567890123-" + Random(40, "abcdef0123456789"), "xapp-" },
        { "slack-webhook-url", "url = https://hooks.slack.com/services/" + "T0" + Random(8, Upper) + "/B0" + Random(8, Upper) + "/" + Random(24), "see https://hooks.slack.com/services/ for webhooks" },
        { "atlassian-api-token", "JIRA=" + "ATA" + "TT3" + Random(180, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-="), "ATATT3short" },
        { "anthropic-api-key", "key: " + Dashed("sk", "ant", "api03", Random(93)), Dashed("sk", "ant", "short") },
        { "openai-api-key", "OPENAI=" + Dashed("sk", "proj", Random(48)), Dashed("sk", "this", "is", "a", "rather", "long", "kebab", "case", "identifier", "name") },
        { "openai-api-key", "k = '" + Dashed("sk", Random(48)) + "'", Dashed("sk", new string('a', 40)) },
        { "aws-access-key-id", "id = " + "AK" + "IA" + Random(16, Upper), "AK" + "IA" + Random(15, Upper) },
        { "aws-access-key-id", "id = " + "AS" + "IA" + Random(16, Upper), "ASIAN cuisine is great" },
        { "aws-secret-access-key", "aws_secret_access_key = " + Random(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"), "aws_secret_access_key = " + new string('A', 40) },
        { "private-key", "-----BEGIN " + "RSA PRIVATE KEY-----", "-----BEGIN PUBLIC KEY-----" },
        { "private-key", "-----BEGIN " + "OPENSSH PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----" },
        { "jwt", "Authorization: Bearer " + "ey" + "J" + Random(20) + "." + "ey" + "J" + Random(40) + "." + Random(43), "eyJhbGciOiJIUzI1NiJ9 is only a header" },
        { "generic-secret", "db_password = \"" + Random(24) + "\"", "db_password = \"" + "changeme" + "\"" },
        { "generic-secret", "api_key: " + Random(20) + "9", "api_key: process.env.API_KEY_FROM_THE_ENVIRONMENT" },
        { "generic-secret", "\"client_secret\": \"" + Random(32) + "\"", "\"client_secret\": \"" + new string('x', 32) + "\"" },
        { "generic-secret", "TOKEN := '" + Random(18) + "'", "token = \"your-api-token-goes-here\"" },
    };

    [Theory]
    [MemberData(nameof(Planted))]
    public void EachRuleFindsItsPlantedSecretAndLetsItsNearMissThrough(string rule, string hit, string nearMiss)
    {
        Assert.Contains(rule, SecretRules.Names);
        Assert.Equal([rule], SecretRules.Find(hit, []));
        Assert.Empty(SecretRules.Find(nearMiss, []));
    }

    [Fact]
    public void AValueTheServiceHoldsIsFoundWhateverItLooksLikeButShortValuesAreNotLookedFor()
    {
        var jiraToken = "jira-" + Random(12);
        Assert.Equal([SecretRules.ServiceSecret], SecretRules.Find("const auth = `" + jiraToken + "`;", [jiraToken, "short"]));
        Assert.Empty(SecretRules.Find("a short word", ["short"]));
        Assert.Empty(SecretRules.Find("nothing here", [jiraToken]));
    }

    [Fact]
    public void GenericAssignmentsNeedEnoughEntropyAndLength()
    {
        Assert.True(SecretRules.Entropy(Random(32)) >= SecretRules.GenericMinimumEntropy);
        Assert.True(SecretRules.Entropy("aaaaaaaaaaaaaaaaaaaa") < 1);
        Assert.Empty(SecretRules.Find("password = \"" + Random(12) + "\"", [])); // shorter than the minimum length
        Assert.Empty(SecretRules.Find("password = \"abababababababababab\"", [])); // long but not random
        Assert.Empty(SecretRules.Find("token = get_token(settings)", []));
    }

    [Fact]
    public void TheDiffReaderReportsFileLineRuleAndFingerprintOfAddedLinesOnly()
    {
        var key = "AK" + "IA" + Random(16, Upper);
        var diff = string.Join('\n',
            "diff --git a/src/app.py b/src/app.py",
            "index 1111111..2222222 100644",
            "--- a/src/app.py",
            "+++ b/src/app.py",
            "@@ -3,0 +4,2 @@ def main():",
            "+x = 1",
            "+aws_id = \"" + key + "\"",
            "@@ -10 +12 @@",
            "-old = \"" + key + "\"",
            "+++ looks like a header but is an added line " + key,
            "diff --git a/image.png b/image.png",
            "Binary files a/image.png and b/image.png differ",
            "diff --git a/gone.txt b/gone.txt",
            "deleted file mode 100644",
            "--- a/gone.txt",
            "+++ /dev/null",
            "@@ -1 +0,0 @@",
            "-" + key,
            "");
        var result = SecretScanner.Scan(diff, SecretScanAllowList.Empty, [], 1_000_000, commit: "0123456789abcdef");

        Assert.Equal(["src/app.py:5 aws-access-key-id (commit 0123456)", "src/app.py:12 aws-access-key-id (commit 0123456)"], result.Findings.Select(f => f.Location));
        var first = result.Findings[0];
        Assert.Equal(SecretFinding.FingerprintOf("aws-access-key-id", "src/app.py", "aws_id = \"" + key + "\""), first.Fingerprint);
        Assert.Equal(64, first.Fingerprint.Length);
        Assert.All(result.Findings, f => Assert.DoesNotContain(key, f.Location + f.Fingerprint, StringComparison.Ordinal));
        Assert.Empty(result.TruncatedFiles);
    }

    [Fact]
    public void AFileIsScannedUpToTheCapAndNamedAsTruncated()
    {
        var key = "AK" + "IA" + Random(16, Upper);
        var lines = Enumerable.Range(0, 100).Select(i => "+filler line number " + i).Append("+" + key);
        var diff = "diff --git a/big.txt b/big.txt\n--- /dev/null\n+++ b/big.txt\n@@ -0,0 +1,101 @@\n" + string.Join('\n', lines) + "\n";

        var capped = SecretScanner.Scan(diff, SecretScanAllowList.Empty, [], 1024);
        Assert.Empty(capped.Findings);
        Assert.Equal(["big.txt"], capped.TruncatedFiles);

        var whole = SecretScanner.Scan(diff, SecretScanAllowList.Empty, [], 1_000_000);
        Assert.Equal("big.txt:101 aws-access-key-id", Assert.Single(whole.Findings).Location);
    }

    [Fact]
    public void TheAllowListLetsFingerprintsAndPathGlobsThroughButAValueOfTheServiceOnlyByItsFingerprint()
    {
        var held = "held-" + Random(16);
        var token = "gh" + "p_" + Random(36);
        var diff = string.Join('\n',
            "diff --git a/docs/example.md b/docs/example.md", "--- /dev/null", "+++ b/docs/example.md", "@@ -0,0 +1,2 @@",
            "+token: " + token, "+also " + held,
            "diff --git a/src/a.txt b/src/a.txt", "--- /dev/null", "+++ b/src/a.txt", "@@ -0,0 +1,2 @@",
            "+" + token, "+again " + token + " here", "");
        var fingerprint = SecretFinding.FingerprintOf("github-token", "src/a.txt", token);
        var allow = SecretScanAllowList.Parse($"# known false positives\n\ndocs/**   # examples\n{fingerprint.ToUpperInvariant()}\n");
        Assert.Equal(1, allow.FingerprintCount);
        Assert.Equal(1, allow.PathCount);

        var result = SecretScanner.Scan(diff, allow, [held], 1_000_000);

        Assert.Equal(["docs/example.md:2 service-secret", "src/a.txt:2 github-token"], result.Findings.Select(f => f.Location));
        Assert.Equal(2, result.Allowed);

        // A weak service value that is also an ordinary word can be let through line by line, by its fingerprint.
        var heldFingerprint = SecretFinding.FingerprintOf(SecretRules.ServiceSecret, "docs/example.md", "also " + held);
        var both = SecretScanner.Scan(diff, SecretScanAllowList.Parse($"docs/**\n{fingerprint}\n{heldFingerprint}\n"), [held], 1_000_000);
        Assert.Equal(["src/a.txt:2 github-token"], both.Findings.Select(f => f.Location));
        Assert.Equal(3, both.Allowed);
    }
}
