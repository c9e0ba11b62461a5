using System.Globalization;
using System.Text;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// The small, safe expression language of <c>when:</c>: <c>a == b</c>, <c>a != b</c>, <c>not x</c>, <c>and</c>,
/// <c>or</c>, parentheses, and operands that are <c>${…}</c> references or literals (<c>true</c>, <c>false</c>,
/// <c>null</c>, numbers, <c>'quoted'</c> or <c>"quoted"</c> strings). A bare value is true unless it is null, empty,
/// <c>false</c> or <c>0</c>. Nothing is evaluated beyond that.
/// </summary>
public sealed class WhenExpression
{
    private readonly Node _root;

    private WhenExpression(string text, Node root, IReadOnlyList<WorkflowReference> references)
    {
        Text = text;
        _root = root;
        References = references;
    }

    public string Text { get; }

    public IReadOnlyList<WorkflowReference> References { get; }

    /// <summary>Parses an expression; throws <see cref="FormatException"/> with the position of the problem.</summary>
    public static WhenExpression Parse(string text)
    {
        var tokens = Tokenize(text);
        var parser = new Parser(tokens, text);
        var root = parser.ParseOr();
        if (parser.Current.Kind != TokenKind.End)
        {
            throw new FormatException($"unexpected '{parser.Current.Text}' at column {parser.Current.Position + 1} of '{text}'");
        }

        return new WhenExpression(text, root, tokens.Where(t => t.Reference is not null).Select(t => t.Reference!).ToList());
    }

    public bool Evaluate(Func<WorkflowReference, object?> lookup) => IsTruthy(_root.Evaluate(lookup));

    public static bool IsTruthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0 && !s.Equals("false", StringComparison.OrdinalIgnoreCase) && s != "0",
        long l => l != 0,
        int i => i != 0,
        double d => d != 0,
        decimal m => m != 0,
        _ => IsTruthy(WorkflowTemplate.ToText(value)),
    };

    /// <summary>Equality across types: numbers numerically, everything else by its text (null reads as empty).</summary>
    public static bool AreEqual(object? left, object? right)
    {
        var a = WorkflowTemplate.ToText(left);
        var b = WorkflowTemplate.ToText(right);
        if (double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) &&
            double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out var y))
        {
            return x.Equals(y);
        }

        return string.Equals(a, b, StringComparison.Ordinal);
    }

    private enum TokenKind { Literal, Reference, Equal, NotEqual, Not, And, Or, Open, Close, End }

    private sealed record Token(TokenKind Kind, string Text, int Position, object? Value = null, WorkflowReference? Reference = null);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '$' && i + 1 < text.Length && text[i + 1] == '{')
            {
                var end = text.IndexOf('}', i + 2);
                if (end < 0)
                {
                    throw new FormatException($"unclosed reference at column {i + 1} of '{text}'");
                }

                tokens.Add(new Token(TokenKind.Reference, text[i..(end + 1)], i, Reference: WorkflowTemplate.ParseReference(text[(i + 2)..end])));
                i = end + 1;
            }
            else if (c is '\'' or '"')
            {
                var builder = new StringBuilder();
                var j = i + 1;
                while (j < text.Length && text[j] != c)
                {
                    if (text[j] == '\\' && j + 1 < text.Length)
                    {
                        j++;
                    }

                    builder.Append(text[j]);
                    j++;
                }

                if (j >= text.Length)
                {
                    throw new FormatException($"unclosed string at column {i + 1} of '{text}'");
                }

                tokens.Add(new Token(TokenKind.Literal, text[i..(j + 1)], i, builder.ToString()));
                i = j + 1;
            }
            else if (c is '=' or '!' && i + 1 < text.Length && text[i + 1] == '=')
            {
                tokens.Add(new Token(c == '=' ? TokenKind.Equal : TokenKind.NotEqual, text.Substring(i, 2), i));
                i += 2;
            }
            else if (c is '(' or ')')
            {
                tokens.Add(new Token(c == '(' ? TokenKind.Open : TokenKind.Close, c.ToString(), i));
                i++;
            }
            else if (char.IsLetterOrDigit(c) || c is '-' or '.' or '_')
            {
                var j = i;
                while (j < text.Length && (char.IsLetterOrDigit(text[j]) || text[j] is '-' or '.' or '_'))
                {
                    j++;
                }

                var word = text[i..j];
                tokens.Add(word switch
                {
                    "and" => new Token(TokenKind.And, word, i),
                    "or" => new Token(TokenKind.Or, word, i),
                    "not" => new Token(TokenKind.Not, word, i),
                    "true" => new Token(TokenKind.Literal, word, i, true),
                    "false" => new Token(TokenKind.Literal, word, i, false),
                    "null" => new Token(TokenKind.Literal, word, i, null),
                    _ when long.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => new Token(TokenKind.Literal, word, i, l),
                    _ when double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => new Token(TokenKind.Literal, word, i, d),
                    _ => throw new FormatException($"unknown word '{word}' at column {i + 1} of '{text}' (quote strings: '{word}')"),
                });
                i = j;
            }
            else
            {
                throw new FormatException($"unexpected '{c}' at column {i + 1} of '{text}'");
            }
        }

        tokens.Add(new Token(TokenKind.End, "end of expression", text.Length));
        return tokens;
    }

    private sealed class Parser(List<Token> tokens, string text)
    {
        private int _position;

        public Token Current => tokens[_position];

        public Node ParseOr()
        {
            var left = ParseAnd();
            while (Current.Kind == TokenKind.Or)
            {
                _position++;
                left = new OrNode(left, ParseAnd());
            }

            return left;
        }

        private Node ParseAnd()
        {
            var left = ParseNot();
            while (Current.Kind == TokenKind.And)
            {
                _position++;
                left = new AndNode(left, ParseNot());
            }

            return left;
        }

        private Node ParseNot()
        {
            if (Current.Kind == TokenKind.Not)
            {
                _position++;
                return new NotNode(ParseNot());
            }

            return ParseComparison();
        }

        private Node ParseComparison()
        {
            var left = ParsePrimary();
            if (Current.Kind is TokenKind.Equal or TokenKind.NotEqual)
            {
                var negate = Current.Kind == TokenKind.NotEqual;
                _position++;
                return new CompareNode(left, ParsePrimary(), negate);
            }

            return left;
        }

        private Node ParsePrimary()
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.Literal:
                    _position++;
                    return new ValueNode(token.Value);
                case TokenKind.Reference:
                    _position++;
                    return new ReferenceNode(token.Reference!);
                case TokenKind.Open:
                    _position++;
                    var inner = ParseOr();
                    if (Current.Kind != TokenKind.Close)
                    {
                        throw new FormatException($"expected ')' at column {Current.Position + 1} of '{text}'");
                    }

                    _position++;
                    return inner;
                default:
                    throw new FormatException($"expected a value at column {token.Position + 1} of '{text}', found '{token.Text}'");
            }
        }
    }

    private abstract record Node
    {
        public abstract object? Evaluate(Func<WorkflowReference, object?> lookup);
    }

    private sealed record ValueNode(object? Value) : Node
    {
        public override object? Evaluate(Func<WorkflowReference, object?> lookup) => Value;
    }

    private sealed record ReferenceNode(WorkflowReference Reference) : Node
    {
        public override object? Evaluate(Func<WorkflowReference, object?> lookup) => lookup(Reference);
    }

    private sealed record NotNode(Node Operand) : Node
    {
        public override object? Evaluate(Func<WorkflowReference, object?> lookup) => !IsTruthy(Operand.Evaluate(lookup));
    }

    private sealed record AndNode(Node Left, Node Right) : Node
    {
        public override object? Evaluate(Func<WorkflowReference, object?> lookup) => IsTruthy(Left.Evaluate(lookup)) && IsTruthy(Right.Evaluate(lookup));
    }

    private sealed record OrNode(Node Left, Node Right) : Node
    {
        public override object? Evaluate(Func<WorkflowReference, object?> lookup) => IsTruthy(Left.Evaluate(lookup)) || IsTruthy(Right.Evaluate(lookup));
    }

    private sealed record CompareNode(Node Left, Node Right, bool Negate) : Node
    {
        public override object? Evaluate(Func<WorkflowReference, object?> lookup) => AreEqual(Left.Evaluate(lookup), Right.Evaluate(lookup)) != Negate;
    }
}
