using DevOrchestrator.Data;

namespace DevOrchestrator.UnitTests.Architecture;

/// <summary>
/// No feature folder (src/DevOrchestrator/Features/*) may reach itself through others: a folder may use another only
/// if that one does not use it back, directly or around a loop. A cycle means a type sits in the wrong folder — move it
/// to the folder that owns the concept (see docs/architecture.md, "The map"; decision 0060).
/// </summary>
public sealed class FeatureCycleTests
{
    /// <summary>The layering of docs/architecture.md: a folder uses only folders before it.</summary>
    private static readonly string[] s_order =
        ["Audit", "Auth", "Events", "Costs", "Health", "Effects", "Workspaces", "Plugins", "Workflows", "Tasks", "Agents", "Projects", "Webhooks"];

    [Fact]
    public void Feature_folders_do_not_depend_on_each_other_in_a_cycle()
    {
        var graph = FeatureDependencies.Of(typeof(AppDbContext).Assembly, "DevOrchestrator.Features.");
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, "Feature folders in a cycle:" + Environment.NewLine + graph.Describe(cycles));
    }

    [Fact]
    public void Feature_folders_use_only_folders_before_them_in_the_documented_order()
    {
        var graph = FeatureDependencies.Of(typeof(AppDbContext).Assembly, "DevOrchestrator.Features.");
        var folders = graph.Edges.Keys.Union(graph.Edges.Values.SelectMany(v => v.Keys)).ToList();
        Assert.True(folders.All(s_order.Contains), "Feature folders missing from the order: " + string.Join(", ", folders.Where(f => !s_order.Contains(f))));
        var upward = graph.Edges.SelectMany(e => e.Value.Select(to => (From: e.Key, To: to.Key, Why: to.Value)))
            .Where(e => Array.IndexOf(s_order, e.To) > Array.IndexOf(s_order, e.From))
            .Select(e => $"{e.From} -> {e.To}: {string.Join("; ", e.Why.Take(5))}")
            .ToList();
        Assert.True(upward.Count == 0, "References against the order:" + Environment.NewLine + string.Join(Environment.NewLine, upward));

        var architecture = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "architecture.md")).ReplaceLineEndings(" ");
        Assert.Contains(string.Join(", ", s_order) + ".", architecture, StringComparison.Ordinal);
    }

    [Fact]
    public void An_injected_cycle_is_found_through_a_method_body_alone()
    {
        // The sample folders below: Alpha names Beta in a field, Beta names Alpha only inside a method body.
        var graph = FeatureDependencies.Of(typeof(FeatureCycleTests).Assembly, "DevOrchestrator.UnitTests.Architecture.Sample.");
        var cycle = Assert.Single(graph.Cycles());
        Assert.Equal(["Alpha", "Beta"], cycle);
        Assert.Contains("Beta -> Alpha: BetaThing → AlphaThing", graph.Describe([cycle]), StringComparison.Ordinal);
        Assert.DoesNotContain(graph.Cycles(), c => c.Contains("Gamma"));
    }

    [Fact]
    public void A_one_way_dependency_is_not_a_cycle()
    {
        var graph = FeatureDependencies.Of(typeof(FeatureCycleTests).Assembly, "DevOrchestrator.UnitTests.Architecture.Sample.");
        Assert.Contains("Alpha", graph.Edges["Gamma"].Keys);
        Assert.False(graph.Edges.ContainsKey("Alpha") && graph.Edges["Alpha"].ContainsKey("Gamma"));
    }
}
