namespace DevOrchestrator.Features.Agents;

/// <summary>
/// Finds a repository's test command when the project has none set: .NET (<c>dotnet test</c>), npm (a <c>test</c>
/// script), Python (pytest configuration or a tests folder), Go, Rust, or a Makefile with a <c>test</c> target.
/// </summary>
public static class TestCommands
{
    public static string? Detect(string root)
    {
        bool Has(string name) => File.Exists(Path.Combine(root, name));

        if (Directory.EnumerateFiles(root, "*.slnx").Any() || Directory.EnumerateFiles(root, "*.sln").Any() || Directory.EnumerateFiles(root, "*.csproj").Any() || Directory.EnumerateFiles(root, "*.fsproj").Any())
        {
            return "dotnet test";
        }

        if (Has("package.json") && HasTestScript(Path.Combine(root, "package.json")))
        {
            return "npm test";
        }

        if (Has("pytest.ini") || Has("conftest.py") || Has("tox.ini") ||
            (Has("pyproject.toml") && File.ReadAllText(Path.Combine(root, "pyproject.toml")).Contains("pytest", StringComparison.Ordinal)) ||
            ((Has("setup.py") || Has("pyproject.toml") || Has("requirements.txt")) && Directory.Exists(Path.Combine(root, "tests"))))
        {
            return "pytest";
        }

        if (Has("go.mod"))
        {
            return "go test ./...";
        }

        if (Has("Cargo.toml"))
        {
            return "cargo test";
        }

        if (Has("Makefile") && File.ReadLines(Path.Combine(root, "Makefile")).Any(l => l.StartsWith("test:", StringComparison.Ordinal)))
        {
            return "make test";
        }

        return null;
    }

    /// <summary>A <c>scripts.test</c> entry, not just the word "test" anywhere (a package name, a keyword, a dependency).</summary>
    private static bool HasTestScript(string packageJson)
    {
        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(packageJson))?["scripts"]?["test"] is not null;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
