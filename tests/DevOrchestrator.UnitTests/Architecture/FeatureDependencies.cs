using System.Reflection;
using System.Reflection.Emit;

namespace DevOrchestrator.UnitTests.Architecture;

/// <summary>
/// Which feature folder's code uses which other feature folder's types, read from a compiled assembly: a type's base
/// type and interfaces, its fields, properties, method and constructor signatures, local variables, and every type,
/// method or field a method body names (its IL tokens). Lambdas and async state machines are nested types of the type
/// that wrote them, so their references count for its folder. A folder is the namespace segment after
/// <c>prefix</c> (<c>DevOrchestrator.Features.Tasks.X</c> is in <c>Tasks</c>).
/// </summary>
internal sealed class FeatureDependencies
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
    private static readonly OpCode[] s_oneByte = new OpCode[256];
    private static readonly OpCode[] s_twoByte = new OpCode[256];

    static FeatureDependencies()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var code = (OpCode)field.GetValue(null)!;
            var value = (ushort)code.Value;
            if (value < 0x100)
            {
                s_oneByte[value] = code;
            }
            else if ((value & 0xff00) == 0xfe00)
            {
                s_twoByte[value & 0xff] = code;
            }
        }
    }

    private readonly string _prefix;

    private FeatureDependencies(string prefix) => _prefix = prefix;

    /// <summary>Folder → folder it uses → the type-level references that make the edge ("From → To").</summary>
    public SortedDictionary<string, SortedDictionary<string, SortedSet<string>>> Edges { get; } = new(StringComparer.Ordinal);

    public static FeatureDependencies Of(Assembly assembly, string prefix)
    {
        var graph = new FeatureDependencies(prefix);
        foreach (var type in assembly.GetTypes())
        {
            if (graph.FolderOf(type) is { } folder)
            {
                foreach (var used in Referenced(type))
                {
                    graph.Add(folder, type, used);
                }
            }
        }

        return graph;
    }

    /// <summary>Every group of folders that reach each other (strongly connected components of two or more folders).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var nodes = Edges.Keys.Union(Edges.Values.SelectMany(v => v.Keys)).Order(StringComparer.Ordinal).ToList();
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<IReadOnlyList<string>>();
        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in Edges.TryGetValue(node, out var targets) ? targets.Keys : Enumerable.Empty<string>())
            {
                if (!index.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next) && index.TryGetValue(next, out var nextIndex))
                {
                    low[node] = Math.Min(low[node], nextIndex);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                if (component.Count > 1)
                {
                    result.Add(component.Order(StringComparer.Ordinal).ToList());
                }
            }
        }

        foreach (var node in nodes.Where(n => !index.ContainsKey(n)))
        {
            Visit(node);
        }

        return result;
    }

    /// <summary>The cycles with, for each edge inside one, the references that make it: what to move to break it.</summary>
    public string Describe(IEnumerable<IReadOnlyList<string>> cycles)
    {
        var lines = new List<string>();
        foreach (var cycle in cycles)
        {
            lines.Add("cycle: " + string.Join(", ", cycle));
            foreach (var from in cycle)
            {
                foreach (var (to, why) in Edges.TryGetValue(from, out var targets) ? targets : [])
                {
                    if (cycle.Contains(to))
                    {
                        lines.Add($"  {from} -> {to}: {string.Join("; ", why.Take(8))}{(why.Count > 8 ? $"; … ({why.Count})" : "")}");
                    }
                }
            }
        }

        return string.Join(Environment.NewLine, lines);
    }

    private string? FolderOf(Type type)
    {
        var ns = type.Namespace;
        if (ns is null || !ns.StartsWith(_prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns[_prefix.Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private void Add(string from, Type fromType, Type used)
    {
        foreach (var type in Expand(used))
        {
            if (FolderOf(type) is { } to && to != from)
            {
                if (!Edges.TryGetValue(from, out var targets))
                {
                    Edges[from] = targets = new(StringComparer.Ordinal);
                }

                if (!targets.TryGetValue(to, out var why))
                {
                    targets[to] = why = new(StringComparer.Ordinal);
                }

                why.Add($"{Outermost(fromType).Name} → {Outermost(type).Name}");
            }
        }
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    /// <summary>A type and the types inside it: elements of arrays, pointers and by-refs, generic arguments.</summary>
    private static IEnumerable<Type> Expand(Type type)
    {
        if (type.HasElementType)
        {
            foreach (var inner in Expand(type.GetElementType()!))
            {
                yield return inner;
            }

            yield break;
        }

        if (type.IsGenericParameter)
        {
            yield break;
        }

        yield return type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        if (type.IsConstructedGenericType)
        {
            foreach (var argument in type.GetGenericArguments().SelectMany(Expand))
            {
                yield return argument;
            }
        }
    }

    private static IEnumerable<Type> Referenced(Type type)
    {
        if (type.BaseType is { } baseType)
        {
            yield return baseType;
        }

        foreach (var contract in type.GetInterfaces())
        {
            yield return contract;
        }

        foreach (var field in type.GetFields(Declared))
        {
            yield return field.FieldType;
        }

        foreach (var property in type.GetProperties(Declared))
        {
            yield return property.PropertyType;
        }

        var methods = type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared));
        foreach (var method in methods)
        {
            if (method is MethodInfo info)
            {
                yield return info.ReturnType;
            }

            foreach (var parameter in method.GetParameters())
            {
                yield return parameter.ParameterType;
            }

            foreach (var used in BodyReferences(type, method))
            {
                yield return used;
            }
        }
    }

    private static List<Type> BodyReferences(Type type, MethodBase method)
    {
        var body = method.GetMethodBody();
        if (body is null)
        {
            return [];
        }

        var found = new List<Type>();
        found.AddRange(body.LocalVariables.Select(v => v.LocalType));
        var il = body.GetILAsByteArray() ?? [];
        var typeArguments = type.IsGenericType ? type.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            var code = il[i] == 0xfe ? s_twoByte[il[++i]] : s_oneByte[il[i]];
            i++;
            switch (code.OperandType)
            {
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                    var token = BitConverter.ToInt32(il, i);
                    try
                    {
                        switch (method.Module.ResolveMember(token, typeArguments, methodArguments))
                        {
                            case Type t:
                                found.Add(t);
                                break;
                            case FieldInfo f:
                                found.Add(f.DeclaringType!);
                                found.Add(f.FieldType);
                                break;
                            case MethodBase m:
                                found.Add(m.DeclaringType!);
                                if (m is MethodInfo mi)
                                {
                                    found.Add(mi.ReturnType);
                                    found.AddRange(mi.IsGenericMethod ? mi.GetGenericArguments() : []);
                                }

                                found.AddRange(m.GetParameters().Select(p => p.ParameterType));
                                break;
                        }
                    }
                    catch (ArgumentException)
                    {
                        // A token outside this module's tables (none is expected); nothing to count.
                    }

                    i += 4;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + (4 * BitConverter.ToInt32(il, i));
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                default:
                    i += 4;
                    break;
            }
        }

        return found;
    }
}
