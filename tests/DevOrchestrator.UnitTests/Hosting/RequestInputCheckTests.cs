using System.Text;
using DevOrchestrator.Hosting;

namespace DevOrchestrator.UnitTests.Hosting;

public sealed class RequestInputCheckTests
{
    [Theory]
    [InlineData("""{"title": "ok", "tags": ["a", "b"]}""")]
    [InlineData("""{"nested": {"deeper": [{"x": 1e999, "y": null, "z": "\ud83d\ude42"}]}}""")]
    [InlineData("[1, \"two\", {\"three\": 3}]")]
    public void Valid_json_passes_with_no_nul(string json)
    {
        var nul = new Validation();
        Assert.Null(RequestInputCheck.Inspect(Encoding.UTF8.GetBytes(json), nul));
        Assert.True(nul.IsValid);
    }

    [Fact]
    public void Every_string_with_nul_is_named_by_its_json_path()
    {
        var nul = new Validation();
        var json = """{"title": "a\u0000", "requirements": ["ok", "b\u0000"], "variables": {"k\u0000": 1, "deep": [[{"v": "\u0000"}]]}}""";
        Assert.Null(RequestInputCheck.Inspect(Encoding.UTF8.GetBytes(json), nul));
        Assert.Equal(["requirements[1]", "title", "variables.deep[0][0].v", "variables.k\0"], nul.Errors.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{"a": "x\ud800"}""", "a")]
    [InlineData("""{"a": ["ok", "\udc00\ud800"]}""", "a[1]")]
    [InlineData("""{"a": {"\ud800": 1}}""", "a.(property name)")]
    [InlineData("""{"a": {"b": tru}}""", "a.b")]
    [InlineData("{not json", "body")]
    public void Text_that_is_not_json_or_not_unicode_names_where(string json, string field)
    {
        var problem = RequestInputCheck.Inspect(Encoding.UTF8.GetBytes(json), new Validation());
        Assert.NotNull(problem);
        Assert.Equal(field, problem.Value.Field);
    }

    [Fact]
    public void Invalid_utf8_and_deep_nesting_are_refused()
    {
        byte[] invalid = [.. "{\"t\": \"a"u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.Equal("t", RequestInputCheck.Inspect(invalid, new Validation())!.Value.Field);

        var deep = RequestInputCheck.Inspect(Encoding.UTF8.GetBytes(new string('[', 100) + new string(']', 100)), new Validation());
        Assert.Contains("deeper than 64", deep!.Value.Problem, StringComparison.Ordinal);
    }
}
