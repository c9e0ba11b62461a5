using System.Text.RegularExpressions;
using Fluid;
using Fluid.Ast;
using Fluid.Values;

namespace DevOrchestrator.Features.Agents.Prompts;

/// <summary>
/// Text from third parties (ticket descriptions, issue bodies, pull request and review comments, chat messages, task
/// descriptions from intake, diffs and command output) as it reaches a model: inside
/// <c>&lt;untrusted_input source="…"&gt;…&lt;/untrusted_input&gt;</c>, which the agents' system prompts declare to be data
/// whose instructions are never followed. A delimiter written inside the text is neutralised (its <c>&lt;</c> becomes
/// <c>[</c>), so the text cannot close the block early and continue as instructions. In templates it is the Liquid
/// filter <c>untrusted</c>: <c>{{ task | untrusted: task_source }}</c>.
/// </summary>
public static partial class UntrustedInput
{
    public const string Filter = "untrusted";
    public const string Tag = "untrusted_input";
    public const string DefaultSource = "third_party";

    /// <summary>The text inside its delimiters, any delimiter within it neutralised.</summary>
    public static string Wrap(string text, string? source)
    {
        var label = SourceLabel().Replace(source ?? string.Empty, "_").Trim('_');
        return $"<{Tag} source=\"{(label.Length == 0 ? DefaultSource : label.ToLowerInvariant())}\">\n{Neutralise(text)}\n</{Tag}>";
    }

    /// <summary>Every opening or closing <c>untrusted_input</c> tag in <paramref name="text"/> (any case, spaces inside) made inert.</summary>
    public static string Neutralise(string text) => Delimiter().Replace(text, m => "[" + m.Value[1..]);

    internal static ValueTask<FluidValue> Apply(FluidValue input, FilterArguments arguments, TemplateContext context) =>
        new(FluidValue.Create(Wrap(input.ToStringValue(context), arguments.Count > 0 ? arguments.At(0).ToStringValue(context) : null), context.Options));

    /// <summary>
    /// The problems of a template that prints an untrusted variable (or a name assigned or looped from one) without
    /// <c>| untrusted</c> as the last filter of the output.
    /// </summary>
    internal static List<string> UnwrappedOutputs(IFluidTemplate template, IReadOnlyCollection<string> untrusted)
    {
        if (untrusted.Count == 0)
        {
            return [];
        }

        var finder = new Finder(untrusted);
        finder.VisitTemplate(template);
        return finder.Unwrapped;
    }

    [GeneratedRegex(@"<\s*/?\s*untrusted_input", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Delimiter();

    [GeneratedRegex("[^A-Za-z0-9_.-]+", RegexOptions.CultureInvariant)]
    private static partial Regex SourceLabel();

    /// <summary>Walks a template in order: tracks names that carry untrusted text and outputs that print one unwrapped.</summary>
    private sealed class Finder(IReadOnlyCollection<string> untrusted) : AstVisitor
    {
        private readonly HashSet<string> _tainted = new(untrusted, StringComparer.Ordinal);

        public List<string> Unwrapped { get; } = [];

        protected override Statement VisitOutputStatement(OutputStatement outputStatement)
        {
            if (outputStatement.Expression is not FilterExpression { Name: Filter } && Tainted(outputStatement.Expression) is { } name)
            {
                Unwrapped.Add(name);
            }

            return base.VisitOutputStatement(outputStatement);
        }

        protected override Statement VisitAssignStatement(AssignStatement assignStatement)
        {
            if (assignStatement.Value is not FilterExpression { Name: Filter } && Tainted(assignStatement.Value) is not null)
            {
                _tainted.Add(assignStatement.Identifier);
            }

            return base.VisitAssignStatement(assignStatement);
        }

        protected override Statement VisitForStatement(ForStatement forStatement)
        {
            if (Tainted(forStatement.Source) is not null)
            {
                _tainted.Add(forStatement.Identifier);
            }

            return base.VisitForStatement(forStatement);
        }

        protected override Statement VisitTableRowStatement(TableRowStatement tableRowStatement)
        {
            if (Tainted(tableRowStatement.Source) is not null)
            {
                _tainted.Add(tableRowStatement.Identifier);
            }

            return base.VisitTableRowStatement(tableRowStatement);
        }

        /// <summary>The first untrusted name <paramref name="expression"/> reads (a whole object holding one counts), or null.</summary>
        private string? Tainted(Expression expression)
        {
            var paths = new PathCollector();
            paths.Visit(expression);
            return paths.Paths.FirstOrDefault(p => _tainted.Any(t => p == t || p.StartsWith(t + ".", StringComparison.Ordinal) || t.StartsWith(p + ".", StringComparison.Ordinal)));
        }
    }

    /// <summary>The dotted paths (<c>task.description</c>) of the member expressions in an expression.</summary>
    private sealed class PathCollector : AstVisitor
    {
        public List<string> Paths { get; } = [];

        protected override Expression VisitMemberExpression(MemberExpression memberExpression)
        {
            var names = memberExpression.Segments.TakeWhile(s => s is IdentifierSegment).Select(s => ((IdentifierSegment)s).Identifier);
            Paths.Add(string.Join('.', names));
            return base.VisitMemberExpression(memberExpression);
        }
    }
}
