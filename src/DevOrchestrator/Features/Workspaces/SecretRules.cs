using System.Text.RegularExpressions;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// The secret scan's rules: known credential formats (GitHub, Slack, Atlassian, Anthropic, OpenAI, AWS, private keys,
/// JWTs), generic high-entropy assignments, and the values the service itself holds. <see cref="Find"/> returns the
/// names of the rules a line breaks — never the matched text. Table and examples: docs/security.md, "Secret scan".
/// </summary>
public static partial class SecretRules
{
    /// <summary>A value the service itself holds (a vendor token, a model key, the JWT or encryption key…).</summary>
    public const string ServiceSecret = "service-secret";

    public const string GenericSecret = "generic-secret";

    /// <summary>Shortest value of the service's own that is looked for (shorter ones would hit ordinary text).</summary>
    public const int MinimumHeldSecretLength = 8;

    /// <summary>Shortest value a generic assignment must have, and the Shannon entropy (bits per character) it must reach.</summary>
    public const int GenericMinimumLength = 16;

    public const double GenericMinimumEntropy = 3.5;

    private static readonly Rule[] s_rules =
    [
        new("github-token", GitHubToken()),
        new("slack-token", SlackToken(), m => m.Value.Any(char.IsAsciiDigit)),
        new("slack-app-token", SlackAppToken()),
        new("slack-webhook-url", SlackWebhook()),
        new("atlassian-api-token", AtlassianToken()),
        new("anthropic-api-key", AnthropicKey()),
        new("openai-api-key", OpenAiKey(), m => !m.Value.StartsWith("sk-ant-", StringComparison.Ordinal) && LooksRandom(m.Groups["value"].Value)),
        new("aws-access-key-id", AwsAccessKeyId()),
        new("aws-secret-access-key", AwsSecretKey(), m => Entropy(m.Groups["value"].Value) >= GenericMinimumEntropy),
        new("private-key", PrivateKey()),
        new("jwt", Jwt()),
    ];

    private static readonly string[] s_placeholders = ["example", "placeholder", "changeme", "your", "xxxx", "dummy", "redacted", "sample"];

    /// <summary>Every rule's name, in the order they are checked (the service's values last).</summary>
    public static IReadOnlyList<string> Names { get; } = [.. s_rules.Select(r => r.Name), GenericSecret, ServiceSecret];

    /// <summary>The rules <paramref name="line"/> breaks, each once; <paramref name="heldSecrets"/> are the service's own values.</summary>
    public static IReadOnlyList<string> Find(string line, IReadOnlyCollection<string> heldSecrets)
    {
        var hits = new List<string>();
        foreach (var rule in s_rules)
        {
            foreach (Match match in rule.Pattern.Matches(line))
            {
                if (rule.Check is null || rule.Check(match))
                {
                    hits.Add(rule.Name);
                    break;
                }
            }
        }

        // A line a known format already names is not reported again as a generic assignment.
        if (hits.Count == 0 && HasGenericSecret(line))
        {
            hits.Add(GenericSecret);
        }

        if (heldSecrets.Any(secret => secret.Length >= MinimumHeldSecretLength && line.Contains(secret, StringComparison.Ordinal)))
        {
            hits.Add(ServiceSecret);
        }

        return hits;
    }

    /// <summary>Shannon entropy of <paramref name="value"/> in bits per character.</summary>
    public static double Entropy(string value)
    {
        if (value.Length == 0)
        {
            return 0;
        }

        var entropy = 0.0;
        foreach (var group in value.GroupBy(c => c))
        {
            var p = (double)group.Count() / value.Length;
            entropy -= p * Math.Log2(p);
        }

        return entropy;
    }

    private static bool HasGenericSecret(string line)
    {
        foreach (Match match in GenericAssignment().Matches(line))
        {
            var value = match.Groups["value"].Value;
            var quoted = match.Groups["quote"].Length > 0;
            if (value.Length < GenericMinimumLength || Entropy(value) < GenericMinimumEntropy
                || s_placeholders.Any(p => value.Contains(p, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            // Unquoted, a dotted name (process.env.API_TOKEN, settings.api_key) is code, not a value.
            if (!quoted && (value.Contains('.', StringComparison.Ordinal) || !value.Any(char.IsAsciiDigit) || !value.Any(char.IsAsciiLetter)))
            {
                continue;
            }

            return true;
        }

        return false;
    }

    private static bool LooksRandom(string value) =>
        value.Any(char.IsAsciiDigit) && value.Any(char.IsAsciiLetter) && Entropy(value) >= GenericMinimumEntropy;

    private const int TimeoutMs = 250;

    [GeneratedRegex(@"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})(?![A-Za-z0-9_])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex GitHubToken();

    [GeneratedRegex(@"\bxox[abprse]-[A-Za-z0-9-]{10,250}", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SlackToken();

    [GeneratedRegex(@"\bxapp-\d-[A-Za-z0-9-]{10,250}", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SlackAppToken();

    [GeneratedRegex(@"hooks\.slack\.com/services/T[A-Za-z0-9_]{4,}/B[A-Za-z0-9_]{4,}/[A-Za-z0-9_]{16,}", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex SlackWebhook();

    [GeneratedRegex(@"\bATATT3[A-Za-z0-9_=\-]{50,}", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex AtlassianToken();

    [GeneratedRegex(@"\bsk-ant-[A-Za-z0-9_\-]{30,}", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex AnthropicKey();

    [GeneratedRegex(@"\bsk-(?:proj-|svcacct-|admin-)?(?<value>[A-Za-z0-9_\-]{32,})", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex OpenAiKey();

    [GeneratedRegex(@"\b(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex AwsAccessKeyId();

    [GeneratedRegex(@"(?i)aws[A-Za-z0-9_.\-]{0,20}(?:secret|sk)[A-Za-z0-9_.\-]{0,20}[""']?\s*(?::=|=>|[:=])\s*[""']?(?<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex AwsSecretKey();

    [GeneratedRegex(@"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex Jwt();

    [GeneratedRegex(@"(?i)(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|credential)s?[A-Za-z0-9_.\-]{0,40}[""']?\s*(?::=|=>|[:=])\s*(?<quote>[""'`]?)(?<value>[A-Za-z0-9+/=_\-.~!@#%^&*]{8,})\k<quote>", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex GenericAssignment();

    private sealed record Rule(string Name, Regex Pattern, Func<Match, bool>? Check = null);
}
