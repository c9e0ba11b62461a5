using System.CommandLine;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Agents.Prompts;

namespace DevOrchestrator.Cli;

/// <summary>
/// <c>devorch prompts list|show|validate</c>: the agents' prompt templates as the service uses them — the embedded
/// defaults, the files of <c>PROMPTS_DIR</c> that override them, and the step instruction templates there.
/// </summary>
public static class PromptsCommand
{
    public static Command Create()
    {
        var list = new Command("list", "List the prompt templates: name, kind, source (embedded or the file that overrides it) and variables.");
        list.SetAction(async (_, _) => await ListAsync(ConfiguredDirectory(), Console.Out));

        var name = new Argument<string>("NAME") { Description = "The template's name (see devorch prompts list)" };
        var show = new Command("show", "Print a template's effective text (the file in PROMPTS_DIR when there is one, else the embedded default).") { name };
        show.SetAction(async (parseResult, _) => await ShowAsync(ConfiguredDirectory(), parseResult.GetValue(name)!, Console.Out, Console.Error));

        var dir = new Option<string?>("--dir") { Description = "The directory to check (default PROMPTS_DIR)" };
        var validate = new Command("validate", "Check every template (syntax, unknown variables and filters) as devorch serve does at start: FILE:LINE: message per problem, exit 1.") { dir };
        validate.SetAction(async (parseResult, _) => await ValidateAsync(parseResult.GetValue(dir), Console.Out, Console.Error));

        return new Command("prompts", "Prompt template commands (PROMPTS_DIR).") { list, show, validate };
    }

    /// <summary>PROMPTS_DIR as the service reads it (environment, <c>.env</c>, appsettings), as a full path.</summary>
    public static string ConfiguredDirectory() => Path.GetFullPath(ConfigCommand.Configuration()["PROMPTS_DIR"] is { Length: > 0 } configured ? configured : new AgentOptions().PromptsDir);

    public static async Task<int> ListAsync(string directory, TextWriter output)
    {
        var listings = PromptTemplates.List(directory);
        var width = listings.Max(l => l.Name.Length) + 2;
        var sourceWidth = listings.Max(l => l.Source.Length) + 2;
        await output.WriteLineAsync($"{"NAME".PadRight(width)}{"KIND",-14}{"SOURCE".PadRight(sourceWidth)}VARIABLES");
        foreach (var listing in listings)
        {
            var variables = listing.Definition.Variables.Count == 0 ? "-" : string.Join(", ", listing.Definition.Variables.Keys);
            await output.WriteLineAsync($"{listing.Name.PadRight(width)}{listing.Kind,-14}{listing.Source.PadRight(sourceWidth)}{variables}");
        }

        return ExitCodes.Ok;
    }

    public static async Task<int> ShowAsync(string directory, string name, TextWriter output, TextWriter error)
    {
        string? text;
        try
        {
            text = PromptTemplates.Text(directory, name);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"{Path.Combine(directory, name + PromptTemplates.Extension)} cannot be read: {ex.Message}");
            return ExitCodes.Failure;
        }

        if (text is null)
        {
            await error.WriteLineAsync($"NAME: there is no prompt template '{name}' (templates: {string.Join(", ", PromptTemplates.List(directory).Select(l => l.Name))}).");
            return ExitCodes.Usage;
        }

        await output.WriteAsync(text);
        return ExitCodes.Ok;
    }

    public static async Task<int> ValidateAsync(string? dir, TextWriter output, TextWriter error)
    {
        var directory = dir is null ? ConfiguredDirectory() : Path.GetFullPath(dir);
        if (dir is not null && !Directory.Exists(directory))
        {
            await error.WriteLineAsync($"--dir {dir}: no such directory.");
            return ExitCodes.Usage;
        }

        var problems = PromptTemplates.Validate(directory);
        foreach (var problem in problems)
        {
            await output.WriteLineAsync(problem.ToString());
        }

        if (problems.Count > 0)
        {
            return ExitCodes.Failure;
        }

        var listings = PromptTemplates.List(directory);
        var files = listings.Count(l => l.Source != PromptTemplates.EmbeddedSource);
        await output.WriteLineAsync($"{directory}: {listings.Count} prompt templates valid ({files} from files, {listings.Count - files} embedded)");
        return ExitCodes.Ok;
    }
}
