using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Json;

namespace DevOrchestrator.Hosting;

/// <summary>
/// One JSON object per log line: <c>level</c> (upper-case on every line: <c>INFO</c>, <c>WARNING</c>, <c>ERROR</c>…),
/// <c>logger</c> (the category), <c>trace_id</c> and <c>span_id</c> (inside an activity), then Serilog's compact format
/// unchanged (CLEF: <c>@t</c>, <c>@m</c>, <c>@i</c>, <c>@l</c>, <c>@x</c>, <c>@tr</c>, <c>@sp</c> and the event's
/// properties — <c>request_id</c>, <c>user_id</c>, <c>task_id</c>, <c>agent_id</c> where known). So both the guide's
/// recipes (<c>grep ERROR</c>, <c>jq 'select(.level=="ERROR")'</c>) and CLEF tools read it.
/// </summary>
public sealed class JsonLogFormatter : ITextFormatter
{
    private readonly RenderedCompactJsonFormatter _clef = new();

    /// <summary>The compact object of the line being written, reused by the thread (a sink formats one event at a time).</summary>
    [ThreadStatic]
    private static StringWriter? t_clef;

    public void Format(LogEvent logEvent, TextWriter output)
    {
        var clef = t_clef ??= new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var text = clef.GetStringBuilder().Clear();
        _clef.Format(logEvent, clef);

        output.Write("{\"level\":\"");
        output.Write(LevelName(logEvent.Level));
        output.Write('"');
        if (logEvent.Properties.TryGetValue("SourceContext", out var source) && source is ScalarValue { Value: string logger })
        {
            output.Write(",\"logger\":");
            JsonValueFormatter.WriteQuotedJsonString(logger, output);
        }

        if (logEvent.TraceId is { } traceId)
        {
            output.Write(",\"trace_id\":\"");
            output.Write(traceId.ToHexString());
            output.Write('"');
        }

        if (logEvent.SpanId is { } spanId)
        {
            output.Write(",\"span_id\":\"");
            output.Write(spanId.ToHexString());
            output.Write('"');
        }

        // The compact object without its opening brace: {"@t":…} → ,"@t":…
        text[0] = ',';
        foreach (var chunk in text.GetChunks())
        {
            output.Write(chunk.Span);
        }

        if (text.Capacity > 64 * 1024)
        {
            t_clef = null; // an exceptional line (a long stack trace) does not keep its buffer
        }
    }

    /// <summary>The guide's level names (Python's logging names, with TRACE for Serilog's Verbose).</summary>
    public static string LevelName(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "TRACE",
        LogEventLevel.Debug => "DEBUG",
        LogEventLevel.Information => "INFO",
        LogEventLevel.Warning => "WARNING",
        LogEventLevel.Error => "ERROR",
        _ => "CRITICAL",
    };
}
