using System.Text.Json;
using System.Text.Json.Serialization;

namespace DevOrchestrator.Hosting;

/// <summary>The one JSON shape of the public contract: snake_case names, no nulls dropped, strings for enums.</summary>
public static class JsonDefaults
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.NumberHandling = JsonNumberHandling.Strict;
        return options;
    }

    /// <summary>JSON text stored in a column (inputs, outputs, variables) as an element for an answer; null stays null.</summary>
    public static JsonElement? ParseStored(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}
