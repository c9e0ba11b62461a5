using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A prompt cut into blocks in the order a vendor caches them, with what the fake tokenizer needs: each block's size
/// and whether a cache breakpoint ends it. <see cref="Tokens"/> of a block boundary and <see cref="Hashes"/> of chosen
/// boundaries make the cache arithmetic of both servers.
/// </summary>
internal sealed class PromptPrefix
{
    private readonly List<Block> _blocks = [];
    private readonly string _model;

    public PromptPrefix(string model) => _model = model;

    /// <summary>How many blocks there are; boundary <c>i</c> (1..Count) is the end of block <c>i - 1</c>.</summary>
    public int Count => _blocks.Count;

    /// <summary>The UTF-8 size of all blocks.</summary>
    public long TotalBytes => _blocks.Count == 0 ? 0 : _blocks[^1].CumulativeBytes;

    /// <summary>Boundaries that end a block with a cache breakpoint, with the breakpoint's lifetime.</summary>
    public IEnumerable<(int Boundary, TimeSpan Ttl)> Breakpoints =>
        _blocks.Select((block, index) => (Boundary: index + 1, block.Ttl)).Where(b => b.Ttl > TimeSpan.Zero);

    /// <summary>
    /// Add a block. <paramref name="marker"/> (a role) counts towards the size and the hash before the block itself.
    /// The block's <c>cache_control</c> is left out of both, so moving a breakpoint does not change the prefix.
    /// </summary>
    public void Add(JsonNode? block, string? marker = null, TimeSpan breakpointTtl = default)
    {
        var json = block is JsonObject obj && obj.ContainsKey("cache_control") ? WithoutCacheControl(obj) : block?.ToJsonString() ?? "null";
        var bytes = Encoding.UTF8.GetBytes(marker is null ? json : marker + json);
        var cumulative = TotalBytes + bytes.Length;
        _blocks.Add(new Block(bytes, cumulative, breakpointTtl));
    }

    /// <summary>Tokens of the prefix that ends at <paramref name="boundary"/> (0: nothing).</summary>
    public int Tokens(int boundary) => boundary == 0 ? 0 : FakeModelServer.EstimateTokens(_blocks[boundary - 1].CumulativeBytes);

    /// <summary>Hashes of the prefixes that end at <paramref name="boundaries"/> (the model is part of each).</summary>
    public Dictionary<int, string> Hashes(IEnumerable<int> boundaries)
    {
        var wanted = new SortedSet<int>(boundaries.Where(b => b > 0 && b <= _blocks.Count));
        var result = new Dictionary<int, string>(wanted.Count);
        if (wanted.Count == 0)
        {
            return result;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(_model));
        Span<byte> length = stackalloc byte[4];
        for (var i = 0; i < wanted.Max; i++)
        {
            // Length-prefixed, so block boundaries are part of the hash.
            BitConverter.TryWriteBytes(length, _blocks[i].Bytes.Length);
            hash.AppendData(length);
            hash.AppendData(_blocks[i].Bytes);
            if (wanted.Contains(i + 1))
            {
                result[i + 1] = Convert.ToHexString(hash.GetCurrentHash());
            }
        }

        return result;
    }

    private static string WithoutCacheControl(JsonObject block)
    {
        var copy = new JsonObject();
        foreach (var (name, value) in block)
        {
            if (name != "cache_control")
            {
                copy[name] = value?.DeepClone();
            }
        }

        return copy.ToJsonString();
    }

    private sealed record Block(byte[] Bytes, long CumulativeBytes, TimeSpan Ttl);
}
