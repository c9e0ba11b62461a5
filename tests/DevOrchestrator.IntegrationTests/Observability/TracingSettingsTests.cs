using System.Diagnostics;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.Plugins.Slack;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace DevOrchestrator.IntegrationTests.Observability;

/// <summary>Tracing is on only with an OTLP endpoint; a malformed OTEL_* setting stops the start naming the variable.</summary>
public sealed class TracingSettingsTests
{
    [Fact]
    public async Task Without_an_OTLP_endpoint_there_is_no_tracer_and_with_one_there_is()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (var off = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct))
        {
            Assert.Null(off.Services.GetService<TracerProvider>());
        }

        await using var on = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9/" }, cancellationToken: ct);
        Assert.NotNull(on.Services.GetService<TracerProvider>());
    }

    [Fact]
    public async Task Calls_to_a_Slack_response_url_make_no_span_while_other_calls_do()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await FakeOtlpReceiver.StartAsync(ct);
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.ToString(),
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        }, cancellationToken: ct);
        var factory = service.Services.GetRequiredService<IHttpClientFactory>();
        var marker = Guid.NewGuid().ToString("N");
        var secret = new Uri(receiver.Endpoint, $"/commands/T0001/{marker}-secret"); // the shape of a response_url: the path is the credential
        var plain = new Uri(receiver.Endpoint, $"/api/{marker}-plain");

        using (var responseUrlClient = factory.CreateClient(SlackPlugin.ResponseUrlHttpClientName))
        {
            (await responseUrlClient.PostAsync(secret, new StringContent("{}"), ct)).Dispose();
        }

        using (var client = factory.CreateClient())
        {
            (await client.PostAsync(plain, new StringContent("{}"), ct)).Dispose();
        }

        var spans = await HttpJson.EventuallyAsync(() => Task.FromResult(receiver.Spans), s => s.Any(x => (x["url.full"] as string)?.Contains(marker + "-plain", StringComparison.Ordinal) == true), TimeSpan.FromSeconds(30));
        Assert.Contains(spans, x => (x["url.full"] as string)?.Contains(marker + "-plain", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(spans, x => x.Attributes.Values.OfType<string>().Any(v => v.Contains(marker + "-secret", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "otel-collector:4318", null)]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http://otel-collector:4318", "http/json")]
    public async Task A_malformed_OTLP_setting_stops_serve_with_a_message_naming_it(string variable, string endpoint, string? protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-otel-settings-").FullName;
        try
        {
            var start = DevorchProcess.StartInfo(["serve", "--urls", "http://127.0.0.1:0"], new Dictionary<string, string?>
            {
                ["DATA_DIR"] = Path.Combine(root, "data"),
                ["WORKSPACES_DIR"] = Path.Combine(root, "workspaces"),
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
            }, root);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);

            Assert.Equal(2, process.ExitCode);
            var message = await stderr;
            Assert.Contains(variable, message, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", message + await stdout, StringComparison.Ordinal); // no stack trace
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
