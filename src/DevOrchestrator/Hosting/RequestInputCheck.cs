using System.Text;
using System.Text.Json;

namespace DevOrchestrator.Hosting;

/// <summary>
/// One check of the text a request carries, before any handler, binder or database sees it. Neither database can
/// store every string .NET can hold: PostgreSQL's <c>text</c> refuses the NUL character (U+0000), and a lone UTF-16
/// surrogate cannot be encoded as UTF-8 at all; System.Text.Json throws on invalid UTF-8 and lone surrogates only when
/// a string is read, outside the errors it reports as bad JSON. So, for every route:
/// <list type="bullet">
/// <item>a JSON body (any <c>application/json</c> or <c>+json</c> request) that is not valid JSON, not valid UTF-8, holds
/// a lone surrogate (<c>"\ud800"</c>) or nests deeper than 64 levels is 400 <c>VALIDATION_ERROR</c> naming the JSON path;</item>
/// <item>a JSON body larger than the route's limit (<c>API_MAX_BODY_BYTES</c>, <see cref="RequestBodyLimits"/>) is 413;</item>
/// <item>NUL in any JSON string or property name, query parameter, route value or header is 422
/// <c>VALIDATION_ERROR</c> naming every such field.</item>
/// </list>
/// The vendor webhooks (<c>/webhooks/…</c>) are exempt: their bodies are opaque, signed bytes that the intake reads
/// itself (see <c>TaskIntake</c>, which stores their text with NUL replaced). Decision record 0009.
/// </summary>
public static class RequestInputCheck
{
    public const string NulMessage = "must not contain the NUL character (U+0000)";

    private static readonly JsonReaderOptions s_readerOptions = new() { MaxDepth = 64 };

    public static IApplicationBuilder UseRequestInputCheck(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        var nul = new Validation();
        foreach (var (key, values) in request.Query)
        {
            if (key.Contains('\0', StringComparison.Ordinal) || values.Any(v => v is not null && v.Contains('\0', StringComparison.Ordinal)))
            {
                nul.Add(key, NulMessage);
            }
        }

        foreach (var (key, value) in request.RouteValues)
        {
            if (value is string text && text.Contains('\0', StringComparison.Ordinal))
            {
                nul.Add(key, NulMessage);
            }
        }

        foreach (var (key, values) in request.Headers)
        {
            if (values.Any(v => v is not null && v.Contains('\0', StringComparison.Ordinal)))
            {
                nul.Add(key, NulMessage);
            }
        }

        if (request.HasJsonContentType() && !request.Path.StartsWithSegments("/webhooks", StringComparison.OrdinalIgnoreCase))
        {
            var body = await RequestBodyLimits.ReadAsync(context, context.RequestAborted);
            if (body is null)
            {
                await RequestBodyLimits.TooLarge(context).ExecuteAsync(context);
                return;
            }

            if (body.Length > 0 && Inspect(body, nul) is { } broken)
            {
                await Api.Error(context, StatusCodes.Status400BadRequest, ErrorCodes.ValidationError, "The request body is not valid JSON text.",
                    new Dictionary<string, string[]> { [broken.Field] = [broken.Problem] }).ExecuteAsync(context);
                return;
            }

            request.Body = new MemoryStream(body, writable: false);
            request.ContentLength = body.Length;
        }

        if (!nul.IsValid)
        {
            await Api.Error(context, StatusCodes.Status422UnprocessableEntity, ErrorCodes.ValidationError,
                "The request has text with the NUL character (U+0000), which cannot be stored.", nul.Errors).ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>The first place where <paramref name="json"/> is not valid JSON text, or null; adds each string holding NUL to <paramref name="nul"/>.</summary>
    public static (string Field, string Problem)? Inspect(ReadOnlySpan<byte> json, Validation nul)
    {
        var reader = new Utf8JsonReader(json, s_readerOptions);
        var path = new List<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        path[^1] = path[^1] with { Name = null };
                        var name = ReadString(ref reader, path, nameOnly: true);
                        path[^1] = path[^1] with { Name = name };
                        if (name.Contains('\0', StringComparison.Ordinal))
                        {
                            nul.Add(Describe(path), NulMessage);
                        }

                        continue;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        path.RemoveAt(path.Count - 1);
                        continue;
                }

                if (path.Count > 0 && path[^1].IsArray)
                {
                    path[^1] = path[^1] with { Index = path[^1].Index + 1 };
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        path.Add(new Frame(false, null, -1));
                        break;
                    case JsonTokenType.StartArray:
                        path.Add(new Frame(true, null, -1));
                        break;
                    case JsonTokenType.String when ReadString(ref reader, path, nameOnly: false).Contains('\0', StringComparison.Ordinal):
                        nul.Add(Describe(path), NulMessage);
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            return (Describe(path), ex.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
                ? $"nests deeper than {s_readerOptions.MaxDepth} levels"
                : "is not valid JSON" + Where(ex));
        }
        catch (InvalidTextException ex)
        {
            return (ex.Field, "is not valid Unicode text (invalid UTF-8 bytes or a lone surrogate escape such as \\ud800)");
        }

        return null;
    }

    private static string ReadString(ref Utf8JsonReader reader, List<Frame> path, bool nameOnly)
    {
        try
        {
            return reader.GetString() ?? string.Empty;
        }
        catch (InvalidOperationException)
        {
            // Invalid UTF-8, or an escaped surrogate without its pair.
            var field = Describe(path);
            throw new InvalidTextException(nameOnly ? (field == "body" ? "(property name)" : field + ".(property name)") : field);
        }
    }

    private static string Where(JsonException ex) =>
        ex.LineNumber is { } line && ex.BytePositionInLine is { } position ? $" (line {line + 1}, byte {position + 1})" : string.Empty;

    /// <summary>The JSON path of the current value in the names the client sent: <c>requirements[3]</c>, <c>variables.key</c>; <c>body</c> for the root.</summary>
    private static string Describe(List<Frame> path)
    {
        var text = new StringBuilder();
        foreach (var frame in path)
        {
            if (frame.IsArray)
            {
                if (frame.Index >= 0)
                {
                    text.Append('[').Append(frame.Index).Append(']');
                }
            }
            else if (frame.Name is not null)
            {
                if (text.Length > 0)
                {
                    text.Append('.');
                }

                text.Append(frame.Name);
            }
        }

        return text.Length == 0 ? "body" : text.ToString();
    }

    private readonly record struct Frame(bool IsArray, string? Name, int Index);

    private sealed class InvalidTextException(string field) : Exception(field)
    {
        public string Field { get; } = field;
    }
}
