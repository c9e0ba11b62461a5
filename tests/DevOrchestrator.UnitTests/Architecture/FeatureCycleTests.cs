using DevOrchestrator.Data;

namespace DevOrchestrator.UnitTests.Architecture;

/// <summary>
/// No feature folder (src/DevOrchestrator/Features/*) may reach itself through others: a folder may use another only
/// if that one does not use it back, directly or around a loop. A cycle means a type sits in the wrong folder — move it
/// to the folder that owns the concept (see docs/architecture.md, "The map").
/// </summary>
public sealed class FeatureCycleTests
{
    /// <summary>
    /// The edges that still close cycles today, each against the layering of docs/architecture.md (Auth, Health,
    /// Events, Costs, Workspaces, Agents, Plugins, Workflows, Tasks, Projects, Webhooks: a folder uses only folders
    /// before it). Mostly a lower folder naming the task and project entities. They are tolerated so that no new one
    /// can appear: the test fails on any other edge that closes a cycle, and on a listed edge that is gone (delete it
    /// here).
    /// </summary>
    private static readonly string[] s_knownBackEdges =
    [
        "Health -> Costs", "Health -> Tasks",
        "Events -> Tasks",
        "Costs -> Projects", "Costs -> Tasks",
        "Workspaces -> Plugins", "Workspaces -> Workflows",
        "Agents -> Tasks", "Agents -> Workflows",
        "Plugins -> Tasks",
        "Workflows -> Projects", "Workflows -> Tasks",
        "Tasks -> Projects",
    ];

    [Fact]
    public void Feature_folders_do_not_depend_on_each_other_in_a_new_cycle()
    {
        var graph = FeatureDependencies.Of(typeof(AppDbContext).Assembly, "DevOrchestrator.Features.");
        var present = graph.Edges.SelectMany(e => e.Value.Keys.Select(to => $"{e.Key} -> {to}")).ToHashSet();
        Assert.True(s_knownBackEdges.All(present.Contains), "No longer used, remove from the list: " + string.Join(", ", s_knownBackEdges.Where(e => !present.Contains(e))));

        var cycles = graph.Without(s_knownBackEdges).Cycles();
        Assert.True(cycles.Count == 0, "Feature folders in a cycle:" + Environment.NewLine + graph.Describe(cycles));
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
