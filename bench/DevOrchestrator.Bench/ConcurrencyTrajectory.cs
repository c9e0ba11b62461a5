using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using DevOrchestrator.FakeVendors;

namespace DevOrchestrator.Bench;

/// <summary>
/// The concurrency benchmark's agents: each works on its own git worktree of one small repository (five files, 12 KB)
/// and makes five model calls — list the files, read one, search, replace a line, finish — whose tools are cheap. The
/// fake answers from the request alone (the turn is given by how many assistant messages it carries), so one
/// responder serves any number of agents, each reply after <c>delay</c>.
/// </summary>
internal static class ConcurrencyTrajectory
{
    public const int Turns = 5;
    public const string TaskText = "Bump the service version to 1.0.1.";

    private static readonly FakeToolCall[] s_calls =
    [
        new("list_files", """{"path":".","recursive":true}"""),
        new("read_file", """{"path":"src/service.py"}"""),
        new("search", """{"pattern":"def ","path":"src"}"""),
        new("replace", """{"path":"src/service.py","old_text":"VERSION = \"1.0.0\"","new_text":"VERSION = \"1.0.1\""}"""),
        new("finish", """{"summary":"Bumped VERSION in src/service.py to 1.0.1."}"""),
    ];

    /// <summary>The reply to <paramref name="request"/>: the call of its turn, or "done" past the script.</summary>
    public static FakeReply Reply(RecordedModelRequest request, TimeSpan delay)
    {
        var turn = request.Messages.Count(m => m is JsonObject o && o["role"]?.GetValue<string>() == "assistant");
        FakeReply reply = turn < s_calls.Length ? new FakeToolCallsReply([s_calls[turn]]) : FakeReply.Text("done");
        return reply with { Delay = delay };
    }

    /// <summary>Writes the small repository into <paramref name="directory"/> and commits it.</summary>
    public static async Task CreateRepositoryAsync(string directory, CancellationToken cancellationToken)
    {
        var service = new StringBuilder("\"\"\"The order service.\"\"\"\n\nVERSION = \"1.0.0\"\n\n");
        for (var i = 0; i < 40; i++)
        {
            service.Append(CultureInfo.InvariantCulture, $"\ndef handle_{i:00}(order, store):\n    \"\"\"Handle event {i} of an order.\"\"\"\n    if order is None:\n        raise ValueError(\"no order\")\n    store.save(order.id, {i})\n    return order\n");
        }

        var files = new Dictionary<string, string>
        {
            ["README.md"] = "# Orders\n\nA small service that stores orders and handles their events.\n\n" + string.Concat(Enumerable.Repeat("Run the tests with `pytest`. Configuration is read from the environment.\n", 18)),
            ["pyproject.toml"] = "[project]\nname = \"orders\"\nversion = \"1.0.0\"\nrequires-python = \">=3.11\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
            ["src/service.py"] = service.ToString(),
            ["src/util.py"] = "\"\"\"Helpers.\"\"\"\n\n" + string.Concat(Enumerable.Range(0, 25).Select(i => string.Create(CultureInfo.InvariantCulture, $"\ndef clamp_{i:00}(value, low, high):\n    return max(low, min(high, value))\n"))),
            ["tests/test_service.py"] = "from src import service\n\n" + string.Concat(Enumerable.Range(0, 30).Select(i => string.Create(CultureInfo.InvariantCulture, $"\ndef test_handle_{i:00}(order, store):\n    assert service.handle_{i:00}(order, store) is order\n"))),
        };
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(directory, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllTextAsync(full, content, cancellationToken);
        }

        await BenchGit.InitAndCommitAsync(directory, "orders 1.0.0", cancellationToken);
    }
}
