using System.Text.Json.Nodes;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Projects;

namespace DevOrchestrator.UnitTests.Agents;

public sealed class PlanningAgentParseTests
{
    [Fact]
    public void A_clean_answer_becomes_epics_with_their_tasks()
    {
        var plan = PlanningAgent.Parse("""
            {"epics": [
              {"title": "Accounts", "description": "Sign-up and login.", "acceptance_criteria": ["users can sign up", "users can log in"],
               "tasks": [
                 {"title": "Sign-up form", "description": "A form.", "acceptance_criteria": ["validates the email"]},
                 {"title": "Login", "description": "", "acceptance_criteria": []}
               ]},
              {"title": "Reports", "description": "Charts.", "acceptance_criteria": ["admins only"], "tasks": []}
            ]}
            """);

        Assert.Equal(["Accounts", "Reports"], plan.Epics.Select(e => e.Title));
        var accounts = plan.Epics[0];
        Assert.Equal("Sign-up and login.", accounts.Description);
        Assert.Equal(["users can sign up", "users can log in"], accounts.AcceptanceCriteria);
        Assert.Equal(["Sign-up form", "Login"], accounts.Tasks.Select(t => t.Title));
        Assert.Equal("A form.", accounts.Tasks[0].Description);
        Assert.Equal(["validates the email"], accounts.Tasks[0].AcceptanceCriteria);
        Assert.Empty(accounts.Tasks[1].AcceptanceCriteria);
        Assert.Equal(string.Empty, accounts.Tasks[1].Description);
        Assert.Empty(plan.Epics[1].Tasks);
        Assert.Equal(2, plan.TaskCount);
        Assert.Empty(plan.Notes);
    }

    [Fact]
    public void Json_inside_prose_and_a_code_fence_with_loose_syntax_is_read()
    {
        var plan = PlanningAgent.Parse("""
            Sure! Here is the plan you asked for:
            ```json
            {
              // one epic
              "Epics": [
                {"Name": "  Billing\n  setup ", "details": "Stripe.", "acceptanceCriteria": "- invoices are sent\n* refunds work\n\n",
                 "stories": [{"title": "Webhook", "description": "Handle events.", "criteria": [{"text": "signature checked"}, "idempotent",],},],
                },
              ],
            }
            ```
            Let me know if you want changes.
            """);

        var epic = Assert.Single(plan.Epics);
        Assert.Equal("Billing setup", epic.Title);
        Assert.Equal("Stripe.", epic.Description);
        Assert.Equal(["invoices are sent", "refunds work"], epic.AcceptanceCriteria);
        var task = Assert.Single(epic.Tasks);
        Assert.Equal("Webhook", task.Title);
        Assert.Equal(["signature checked", "idempotent"], task.AcceptanceCriteria);
    }

    [Fact]
    public void A_bare_array_of_epics_and_a_nested_plan_object_are_read()
    {
        var fromArray = PlanningAgent.Parse("""[{"title": "A", "tasks": [{"title": "a1"}]}]""");
        Assert.Equal("A", Assert.Single(fromArray.Epics).Title);
        Assert.Equal("a1", Assert.Single(fromArray.Epics[0].Tasks).Title);

        var nested = PlanningAgent.Parse("""{"plan": {"epics": [{"title": "B"}]}}""");
        Assert.Equal("B", Assert.Single(nested.Epics).Title);
        Assert.Empty(nested.Epics[0].Tasks);
        Assert.Equal(string.Empty, nested.Epics[0].Description);
    }

    [Fact]
    public void Items_without_a_title_are_skipped_with_a_note()
    {
        var plan = PlanningAgent.Parse("""
            {"epics": [{"description": "no title"}, "just a string",
                       {"title": "Kept", "tasks": [{"title": ""}, {"title": "t"}, 42]}]}
            """);
        var epic = Assert.Single(plan.Epics);
        Assert.Equal("Kept", epic.Title);
        Assert.Equal("t", Assert.Single(epic.Tasks).Title);
        Assert.Equal(["4 item(s) without a title were skipped"], plan.Notes);
    }

    [Fact]
    public void Sizes_are_bounded_and_the_cuts_noted()
    {
        var epics = Enumerable.Range(1, 25).Select(i => new JsonObject
        {
            ["title"] = i == 1 ? new string('x', 600) : $"epic {i}",
            ["acceptance_criteria"] = new JsonArray([.. Enumerable.Range(1, 30).Select(c => (JsonNode?)JsonValue.Create(c == 1 ? new string('c', 1500) : $"criterion {c}"))]),
            ["tasks"] = new JsonArray([.. Enumerable.Range(1, i == 2 ? 40 : 2).Select(t => (JsonNode?)new JsonObject { ["title"] = $"task {t}" })]),
        });
        var plan = PlanningAgent.Parse(new JsonObject { ["epics"] = new JsonArray([.. epics]) }.ToJsonString());

        Assert.Equal(PlanningAgent.MaxEpics, plan.Epics.Count);
        Assert.Equal("epic 20", plan.Epics[^1].Title);
        Assert.Equal(PlanningAgent.MaxTitleChars, plan.Epics[0].Title.Length);
        Assert.Equal(new string('x', 499) + "…", plan.Epics[0].Title);
        Assert.Equal(PlanningAgent.MaxCriteria, plan.Epics[0].AcceptanceCriteria.Count);
        Assert.Equal(PlanningAgent.MaxCriterionChars, plan.Epics[0].AcceptanceCriteria[0].Length);
        Assert.Equal(PlanningAgent.MaxTasksPerEpic, plan.Epics[1].Tasks.Count);
        Assert.Equal("task 30", plan.Epics[1].Tasks[^1].Title);
        Assert.Equal(
            ["the plan had 25 epics; only the first 20 were kept", "epic 'epic 2' had 40 tasks; only the first 30 were kept"],
            plan.Notes);
    }

    [Fact]
    public void A_title_is_never_cut_inside_a_surrogate_pair()
    {
        var title = new string('a', 498) + "😀😀";
        var plan = PlanningAgent.Parse(new JsonObject { ["epics"] = new JsonArray(new JsonObject { ["title"] = title }) }.ToJsonString());
        Assert.Equal(new string('a', 498) + "…", plan.Epics[0].Title);
    }

    [Theory]
    [InlineData("I would start with the accounts.", "holds no JSON plan: I would start with the accounts.")]
    [InlineData("", "holds no JSON plan: (empty answer)")]
    [InlineData("""{"verdict": "approve"}""", "has no \"epics\" list")]
    [InlineData("""{"epics": "accounts, reports"}""", "has no \"epics\" list")]
    [InlineData("""{"epics": []}""", "has no epic with a title")]
    [InlineData("""{"epics": [{"title": "   "}]}""", "has no epic with a title")]
    [InlineData("""{"epics": [{"title": "cut off here", "tasks": [{"ti""", "holds no JSON plan")]
    public void An_answer_without_a_readable_plan_is_refused_with_a_reason(string answer, string reason)
    {
        var ex = Assert.Throws<UnreadablePlanException>(() => PlanningAgent.Parse(answer));
        Assert.StartsWith("the planning model's answer ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0m, ex.CostUsd);
    }

    [Fact]
    public void The_stored_description_lists_the_acceptance_criteria()
    {
        Assert.Equal("Do it.\n\nAcceptance criteria:\n- one\n- two", ProjectsApi.DescribeWithCriteria(new PlannedTask("t", "Do it.", ["one", "two"])));
        Assert.Equal("Acceptance criteria:\n- one", ProjectsApi.DescribeWithCriteria(new PlannedTask("t", string.Empty, ["one"])));
        Assert.Equal("Do it.", ProjectsApi.DescribeWithCriteria(new PlannedTask("t", "Do it.", [])));
    }
}
