using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using DevOrchestrator.Abstractions;
using Fluid;
using Fluid.Ast;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Agents.Prompts;

/// <summary>
/// The agents' prompts as Liquid templates (Fluid): the embedded defaults (<c>Prompts/*.liquid</c>), each overridable by
/// a file of the same name in <c>PROMPTS_DIR</c>, plus any other <c>*.liquid</c> there as a step instruction template.
/// Unknown variables, filters and includes are errors, and so is a variable holding third-party text printed without the
/// <c>untrusted</c> filter (<see cref="UntrustedInput"/>). Values are inserted as they are: no HTML encoding, and text
/// that looks like Liquid (<c>{{ x }}</c>, <c>{% raw %}</c>) inside a value is never evaluated.
/// A file is read again at every render: a changed file is used from the next render on; an edit that does not
/// validate is logged (once per content) and the last good version of that template — or the embedded default when
/// there was none — is used instead.
/// </summary>
public sealed partial class PromptTemplates(IOptions<AgentOptions> options, ILogger<PromptTemplates> logger)
{
    public const string Extension = ".liquid";
    public const string EmbeddedSource = "embedded";

    private static readonly FluidParser s_parser = new();

    private static readonly TemplateOptions s_options = new TemplateOptionsBuilder()
        .WithStrictVariables(true)
        .WithStrictFilters(true)
        .WithMaxRecursion(20)
        .WithMaxSteps(1_000_000)
        .WithMaxOutputSize(10_000_000)
        .WithCultureInfo(CultureInfo.InvariantCulture)
        .AddFilter(UntrustedInput.Filter, UntrustedInput.Apply)
        .Build();

    private static readonly Lazy<IReadOnlyDictionary<string, string>> s_embedded = new(LoadEmbedded);

    /// <summary>Names the Liquid engine itself defines, besides a template's variables.</summary>
    private static readonly HashSet<string> s_engineNames = new(StringComparer.Ordinal) { "forloop", "tablerowloop", "empty", "blank", "nil", "null", "true", "false" };

    /// <summary>The last version of each template that validated, by name.</summary>
    private readonly ConcurrentDictionary<string, CompiledPrompt> _lastGood = new(StringComparer.Ordinal);

    /// <summary>The content of each file last reported as invalid (so an invalid file is logged once, not at every render).</summary>
    private readonly ConcurrentDictionary<string, string> _reported = new(StringComparer.Ordinal);

    public string Directory => Path.GetFullPath(options.Value.PromptsDir);

    /// <summary>Renders the effective template <paramref name="name"/> with <paramref name="model"/>.</summary>
    public string Render(string name, IReadOnlyDictionary<string, object?> model)
    {
        var prompt = Current(name);
        try
        {
            return RenderCompiled(prompt.Template, model);
        }
        catch (FluidException ex) when (prompt.Source != EmbeddedSource && s_embedded.Value.TryGetValue(name, out var embedded))
        {
            // A name that does not exist in a branch the start-up sample did not reach: this render uses the default.
            var definition = PromptCatalog.Find(name) ?? PromptCatalog.Instructions(name);
            LogRenderFailed(logger, prompt.Source, ex.Message);
            return RenderCompiled(Compile(definition, EmbeddedSource + ":" + name + Extension, embedded).Template!, model);
        }
        catch (FluidException ex)
        {
            throw new WorkflowActionException($"the prompt template {prompt.Source} could not be rendered: {ex.Message}", ex);
        }
    }

    /// <summary>Whether <paramref name="name"/> is a step instruction template (embedded or a file in PROMPTS_DIR).</summary>
    public bool IsInstructions(string name) => List().Any(p => p.Name == name && p.Kind == PromptCatalog.InstructionsKind);

    /// <summary>Every template: the built-in ones (with their source, embedded or the overriding file) and the other files in PROMPTS_DIR.</summary>
    public IReadOnlyList<PromptListing> List() => List(Directory);

    public static IReadOnlyList<PromptListing> List(string directory)
    {
        var listings = new List<PromptListing>();
        foreach (var definition in PromptCatalog.BuiltIn)
        {
            var file = Path.Combine(directory, definition.Name + Extension);
            listings.Add(new PromptListing(definition, File.Exists(file) ? file : EmbeddedSource));
        }

        foreach (var file in OtherFiles(directory))
        {
            listings.Add(new PromptListing(PromptCatalog.Instructions(Path.GetFileNameWithoutExtension(file)), file));
        }

        return listings;
    }

    /// <summary>The effective text of template <paramref name="name"/> (the file's when there is one), or null when there is no such template.</summary>
    public static string? Text(string directory, string name)
    {
        var listing = List(directory).FirstOrDefault(p => p.Name == name);
        return listing is null ? null
            : listing.Source == EmbeddedSource ? s_embedded.Value[name]
            : File.ReadAllText(listing.Source);
    }

    /// <summary>
    /// Checks every effective template in <paramref name="directory"/> (and the embedded defaults it does not override):
    /// syntax, unknown variables, unknown filters, includes, and a render with sample data. Each problem names the file and line.
    /// </summary>
    public static IReadOnlyList<PromptProblem> Validate(string directory)
    {
        var problems = new List<PromptProblem>();
        if (File.Exists(directory))
        {
            return [new PromptProblem(directory, 0, "PROMPTS_DIR must be a directory of *.liquid files, not a file")];
        }

        foreach (var listing in List(directory))
        {
            string text;
            try
            {
                text = listing.Source == EmbeddedSource ? s_embedded.Value[listing.Name] : File.ReadAllText(listing.Source);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problems.Add(new PromptProblem(listing.Source, 0, "cannot be read: " + ex.Message));
                continue;
            }

            problems.AddRange(Compile(listing.Definition, SourceName(listing), text).Problems);
        }

        return problems;
    }

    /// <summary>Parses and checks one template's text; <paramref name="source"/> names it in the problems.</summary>
    internal static (IFluidTemplate? Template, List<PromptProblem> Problems) Compile(PromptDefinition definition, string source, string text)
    {
        text = Normalize(text);
        IFluidTemplate template;
        try
        {
            template = s_parser.Parse(text);
        }
        catch (ParseException ex)
        {
            var message = ex.Message.Split('\n')[0].TrimEnd();
            return (null, [new PromptProblem(source, ex.Position?.Line ?? 0, "syntax error: " + message)]);
        }

        var problems = new List<PromptProblem>();
        var names = new NameCollector();
        names.VisitTemplate(template);
        foreach (var statement in names.Unsupported)
        {
            problems.Add(new PromptProblem(source, LineOf(text, statement), $"'{statement}' is not supported in prompt templates (there are no files to include)"));
        }

        foreach (var name in names.Read.Where(n => !definition.Variables.ContainsKey(n) && !names.Assigned.Contains(n) && !s_engineNames.Contains(n)))
        {
            problems.Add(new PromptProblem(source, LineOf(text, name), $"unknown variable '{name}' ({Known(definition)})"));
        }

        foreach (var name in UntrustedInput.UnwrappedOutputs(template, definition.Untrusted))
        {
            problems.Add(new PromptProblem(source, LineOf(text, name),
                $"'{name}' holds third-party text and must be printed through the {UntrustedInput.Filter} filter, last: {{{{ {name} | {UntrustedInput.Filter}: \"{name.Split('.')[^1]}\" }}}} "
                + $"(untrusted in {definition.Name}: {string.Join(", ", definition.Untrusted)})"));
        }

        if (problems.Count == 0)
        {
            try
            {
                _ = RenderCompiled(template, definition.Sample);
            }
            catch (FluidException ex)
            {
                // Strict variables and filters: a member or filter that does not exist, in a part the sample data reaches.
                var name = Regex.Match(ex.Message, "'([^']+)'").Groups[1].Value;
                problems.Add(new PromptProblem(source, name.Length > 0 ? LineOf(text, name, member: true) : 0, $"{ex.Message.TrimEnd('.')} ({Known(definition)})"));
            }
        }

        return (problems.Count == 0 ? template : null, problems);
    }

    private CompiledPrompt Current(string name)
    {
        var directory = Directory;
        var definition = PromptCatalog.Find(name) ?? PromptCatalog.Instructions(name);
        var file = Path.Combine(directory, name + Extension);
        string? text = null;
        try
        {
            text = File.Exists(file) ? File.ReadAllText(file) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogUnreadable(logger, ex, file);
        }

        _lastGood.TryGetValue(name, out var last);
        if (text is null)
        {
            if (last is { Source: EmbeddedSource })
            {
                return last;
            }

            if (!s_embedded.Value.TryGetValue(name, out var embedded))
            {
                throw new WorkflowActionException(last is null
                    ? $"there is no prompt template '{name}': add {file}"
                    : $"the prompt template {file} is gone; add it again");
            }

            return _lastGood[name] = new CompiledPrompt(EmbeddedSource, embedded, Compile(definition, EmbeddedSource + ":" + name + Extension, embedded).Template!);
        }

        if (last is not null && last.Source == file && last.Text == text)
        {
            return last;
        }

        var (template, problems) = Compile(definition, file, text);
        if (template is not null)
        {
            _reported.TryRemove(name, out _);
            return _lastGood[name] = new CompiledPrompt(file, text, template);
        }

        var fallback = last ?? (s_embedded.Value.TryGetValue(name, out var builtIn)
            ? new CompiledPrompt(EmbeddedSource, builtIn, Compile(definition, EmbeddedSource + ":" + name + Extension, builtIn).Template!)
            : null);
        if (!_reported.TryGetValue(name, out var reported) || reported != text)
        {
            _reported[name] = text;
            LogInvalid(logger, file, string.Join("; ", problems), fallback is null ? "none: the step fails" : fallback.Source == EmbeddedSource ? "the embedded default" : "its last good version");
        }

        return fallback ?? throw new WorkflowActionException($"the prompt template {file} is invalid: {string.Join("; ", problems)}");
    }

    private static string RenderCompiled(IFluidTemplate template, IReadOnlyDictionary<string, object?> model)
    {
        var context = new TemplateContext(s_options);
        foreach (var (key, value) in model)
        {
            context.SetValue(key, value ?? string.Empty);
        }

        // No encoder: the prompt is plain text, not HTML.
        return template.Render(context);
    }

    /// <summary>Line endings as <c>\n</c>, and the file's final newline dropped (the rendered text ends where the template's last line does).</summary>
    private static string Normalize(string text)
    {
        text = text.ReplaceLineEndings("\n");
        return text.EndsWith('\n') ? text[..^1] : text;
    }

    private static string Known(PromptDefinition definition) =>
        definition.Variables.Count == 0 ? $"{definition.Name} has no variables" : $"variables of {definition.Name}: {string.Join(", ", definition.Variables.Keys)}";

    private static string SourceName(PromptListing listing) => listing.Source == EmbeddedSource ? EmbeddedSource + ":" + listing.Name + Extension : listing.Source;

    /// <summary>
    /// The line of the first tag (<c>{{ … }}</c> or <c>{% … %}</c>) that mentions <paramref name="name"/> (as a
    /// variable, or with <paramref name="member"/> also after a dot), or 0.
    /// </summary>
    private static int LineOf(string text, string name, bool member = false)
    {
        var word = new Regex((member ? @"(?<!\w)" : @"(?<![\w.])") + Regex.Escape(name) + @"(?!\w)", RegexOptions.CultureInvariant);
        foreach (Match tag in TagPattern().Matches(text))
        {
            if (word.IsMatch(tag.Value))
            {
                return text.AsSpan(0, tag.Index).Count('\n') + 1;
            }
        }

        return 0;
    }

    private static List<string> OtherFiles(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            return [];
        }

        try
        {
            return System.IO.Directory.EnumerateFiles(directory, "*" + Extension)
                .Where(f => PromptCatalog.Find(Path.GetFileNameWithoutExtension(f)) is null)
                .Order(StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static Dictionary<string, string> LoadEmbedded()
    {
        var assembly = typeof(PromptTemplates).Assembly;
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("prompts.", StringComparison.Ordinal) && n.EndsWith(Extension, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            texts[resource["prompts.".Length..^Extension.Length]] = reader.ReadToEnd();
        }

        return texts;
    }

    [GeneratedRegex(@"\{\{.*?\}\}|\{%.*?%\}", RegexOptions.Singleline)]
    private static partial Regex TagPattern();

    [LoggerMessage(Level = LogLevel.Error, Message = "The prompt template {File} is invalid and is not used ({Problems}); using {Fallback}")]
    private static partial void LogInvalid(ILogger logger, string file, string problems, string fallback);

    [LoggerMessage(Level = LogLevel.Error, Message = "The prompt template {File} could not be rendered ({Problem}); the embedded default was used for this prompt")]
    private static partial void LogRenderFailed(ILogger logger, string file, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "The prompt template {File} cannot be read")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string file);

    private sealed record CompiledPrompt(string Source, string Text, IFluidTemplate Template);

    /// <summary>The top-level names a template reads, the names it assigns, and the tags it may not use.</summary>
    private sealed class NameCollector : AstVisitor
    {
        public List<string> Read { get; } = [];
        public HashSet<string> Assigned { get; } = new(StringComparer.Ordinal);
        public List<string> Unsupported { get; } = [];

        protected override Expression VisitMemberExpression(MemberExpression memberExpression)
        {
            if (memberExpression.Segments.Count > 0 && memberExpression.Segments[0] is IdentifierSegment { Identifier: { } name } && !Read.Contains(name))
            {
                Read.Add(name);
            }

            return base.VisitMemberExpression(memberExpression);
        }

        protected override Statement VisitAssignStatement(AssignStatement assignStatement)
        {
            Assigned.Add(assignStatement.Identifier);
            return base.VisitAssignStatement(assignStatement);
        }

        protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
        {
            Assigned.Add(captureStatement.Identifier);
            return base.VisitCaptureStatement(captureStatement);
        }

        protected override Statement VisitForStatement(ForStatement forStatement)
        {
            Assigned.Add(forStatement.Identifier);
            return base.VisitForStatement(forStatement);
        }

        protected override Statement VisitTableRowStatement(TableRowStatement tableRowStatement)
        {
            Assigned.Add(tableRowStatement.Identifier);
            return base.VisitTableRowStatement(tableRowStatement);
        }

        protected override Statement VisitIncrementStatement(IncrementStatement incrementStatement)
        {
            Assigned.Add(incrementStatement.Identifier);
            return base.VisitIncrementStatement(incrementStatement);
        }

        protected override Statement VisitDecrementStatement(DecrementStatement decrementStatement)
        {
            Assigned.Add(decrementStatement.Identifier);
            return base.VisitDecrementStatement(decrementStatement);
        }

        protected override Statement VisitIncludeStatement(IncludeStatement includeStatement)
        {
            Unsupported.Add("include");
            return base.VisitIncludeStatement(includeStatement);
        }

        protected override Statement VisitRenderStatement(RenderStatement renderStatement)
        {
            Unsupported.Add("render");
            return base.VisitRenderStatement(renderStatement);
        }

        protected override Statement VisitFromStatement(FromStatement fromStatement)
        {
            Unsupported.Add("from");
            return base.VisitFromStatement(fromStatement);
        }
    }
}
