using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.IntegrationTests.Costs;

public sealed class ModelPricesConfigurationTests
{
    [Fact]
    public async Task The_host_reads_model_prices_of_ids_with_a_colon()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?>
        {
            ["OPENAI_BASE_URL"] = "http://127.0.0.1:11434/v1",
            ["DEVELOPMENT_MODEL"] = "llama3.1:8b",
            ["MODEL_PRICES:llama3.1:8b:input"] = "0.02",
            ["MODEL_PRICES:llama3.1:8b:output"] = "0.05",
            ["MODEL_PRICES:llama3.1:8b:context_window"] = "131072",
        }, cancellationToken: ct);

        var settings = service.Services.GetRequiredService<IOptions<BudgetOptions>>().Value;
        var models = service.Services.GetRequiredService<ModelClients>();

        Assert.Equal(["llama3.1:8b"], settings.ModelPrices.Keys);
        Assert.Equal(new ModelTarget("openai", "llama3.1:8b"), models.EnsureUsable(AgentRoles.Development));
        Assert.Equal(131_072, models.ContextWindow("llama3.1:8b"));
        Assert.Equal(0.05m, models.PriceOf("llama3.1:8b")!.Output);
    }
}
