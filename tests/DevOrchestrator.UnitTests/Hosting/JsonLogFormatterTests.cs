using System.Diagnostics;
using System.Text.Json.Nodes;
using DevOrchestrator.Hosting;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace DevOrchestrator.UnitTests.Hosting;

/// <summary>The JSON log line: the guide's fields (level, logger, trace_id, span_id) over Serilog's compact format, kept.</summary>
public sealed class JsonLogFormatterTests
{
    private static List<JsonNode> Write(Action<ILogger> log)
    {
        var output = new StringWriter();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose().Enrich.FromLogContext().WriteTo.Sink(new FormattingSink(output)).CreateLogger())
        {
            log(logger.ForContext("SourceContext", "DevOrchestrator.Features.Tasks.TaskRun"));
        }

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines.Select(line => JsonNode.Parse(line)!).ToList();
    }

    [Fact]
    public void Every_line_has_an_upper_case_level_and_the_compact_fields_stay()
    {
        var lines = Write(log =>
        {
            log.Verbose("v");
            log.Debug("d");
            log.Information("Task {TaskId} finished: {Status}", 7, "completed");
            log.Warning("w");
            log.Error(new InvalidOperationException("boom"), "e");
            log.Fatal("f");
        });

        Assert.Equal(["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], lines.Select(l => (string?)l["level"]));
        Assert.All(lines, l => Assert.Equal("DevOrchestrator.Features.Tasks.TaskRun", (string?)l["logger"]));
        Assert.All(lines, l => Assert.NotNull(l["@t"]));

        var info = lines[2];
        Assert.Null(info["@l"]); // CLEF: Information is implicit
        Assert.Equal("Task 7 finished: \"completed\"", (string?)info["@m"]);
        Assert.Equal(7, info["TaskId"]!.GetValue<int>());
        Assert.Equal("Error", (string?)lines[4]["@l"]);
        Assert.Contains("InvalidOperationException: boom", (string?)lines[4]["@x"], StringComparison.Ordinal);
        Assert.Null(info["trace_id"]); // no activity, no trace
    }

    [Fact]
    public void A_line_written_inside_an_activity_has_its_trace_and_span_ids()
    {
        using var source = new ActivitySource("JsonLogFormatterTests");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        string traceId = "", spanId = "";
        var lines = Write(log =>
        {
            using var activity = source.StartActivity("run")!;
            (traceId, spanId) = (activity.TraceId.ToHexString(), activity.SpanId.ToHexString());
            using (Serilog.Context.LogContext.PushProperty("task_id", 42))
            {
                log.Error("a \"quoted\"\nmulti-line message");
            }
        });

        var line = Assert.Single(lines);
        Assert.Equal(traceId, (string?)line["trace_id"]);
        Assert.Equal(spanId, (string?)line["span_id"]);
        Assert.Equal(42, line["task_id"]!.GetValue<int>());
        Assert.Equal("ERROR", (string?)line["level"]);
        Assert.Equal("a \"quoted\"\nmulti-line message", (string?)line["@m"]);
    }

    [Theory]
    [InlineData(LogEventLevel.Verbose, "TRACE")]
    [InlineData(LogEventLevel.Information, "INFO")]
    [InlineData(LogEventLevel.Warning, "WARNING")]
    [InlineData(LogEventLevel.Fatal, "CRITICAL")]
    public void Level_names_are_the_guides(LogEventLevel level, string name) => Assert.Equal(name, JsonLogFormatter.LevelName(level));

    /// <summary>What the console and file sinks do with the formatter, into memory.</summary>
    private sealed class FormattingSink(TextWriter output) : ILogEventSink
    {
        private readonly JsonLogFormatter _formatter = new();

        public void Emit(LogEvent logEvent) => _formatter.Format(logEvent, output);
    }
}
