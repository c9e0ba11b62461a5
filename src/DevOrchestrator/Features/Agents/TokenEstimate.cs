using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// A conservative estimate of a request's input tokens without the provider's tokenizer: one token per three UTF-8
/// bytes of the messages and tool definitions as JSON (real tokenizers average about four for English and code), so the
/// reservation is an upper bound in practice.
/// </summary>
public static class TokenEstimate
{
    public static long Of(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        long bytes = 0;
        foreach (var message in messages)
        {
            bytes += 16;
            foreach (var content in message.Contents)
            {
                bytes += content switch
                {
                    TextContent text => Encoding.UTF8.GetByteCount(text.Text ?? string.Empty),
                    FunctionCallContent call => Encoding.UTF8.GetByteCount(call.Name) + JsonSize(call.Arguments),
                    FunctionResultContent result => JsonSize(result.Result),
                    _ => JsonSize(content),
                };
            }
        }

        if (options?.Instructions is { } instructions)
        {
            bytes += Encoding.UTF8.GetByteCount(instructions);
        }

        foreach (var tool in options?.Tools ?? [])
        {
            bytes += Encoding.UTF8.GetByteCount(tool.Name) + Encoding.UTF8.GetByteCount(tool.Description ?? string.Empty) + 32;
            if (tool is AIFunctionDeclaration function)
            {
                bytes += function.JsonSchema.GetRawText().Length;
            }
        }

        return (bytes + 2) / 3;
    }

    private static long JsonSize(object? value) => value switch
    {
        null => 4,
        string s => Encoding.UTF8.GetByteCount(s) + 2,
        _ => JsonSerializer.SerializeToUtf8Bytes(value, AIJsonUtilities.DefaultOptions).Length,
    };
}
