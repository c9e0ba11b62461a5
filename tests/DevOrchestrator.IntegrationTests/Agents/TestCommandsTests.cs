using DevOrchestrator.Features.Agents;

namespace DevOrchestrator.IntegrationTests.Agents;

/// <summary>Finding a repository's test command from its files, in real directories.</summary>
public sealed class TestCommandsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "devorch-tests", "test-commands-" + Guid.NewGuid().ToString("N")[..12]);

    public TestCommandsTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Repo(params (string Path, string Content)[] files)
    {
        var repo = Path.Combine(_root, Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(repo);
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(repo, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            if (path.EndsWith('/'))
            {
                continue;
            }

            File.WriteAllText(full, content);
        }

        return repo;
    }

    [Theory]
    [InlineData("App.sln")]
    [InlineData("App.slnx")]
    [InlineData("App.csproj")]
    [InlineData("App.fsproj")]
    public void Dotnet_solutions_and_projects_use_dotnet_test(string file) =>
        Assert.Equal("dotnet test", TestCommands.Detect(Repo((file, "<Project />"))));

    [Fact]
    public void Dotnet_wins_over_other_stacks_in_the_same_root() =>
        Assert.Equal("dotnet test", TestCommands.Detect(Repo(("App.slnx", "<Solution />"), ("package.json", """{"scripts": {"test": "jest"}}"""), ("Makefile", "test:\n\tdotnet test\n"))));

    [Fact]
    public void A_project_only_in_a_subdirectory_is_not_found() =>
        Assert.Null(TestCommands.Detect(Repo(("src/App/App.csproj", "<Project />"))));

    [Fact]
    public void Npm_with_a_test_script_uses_npm_test() =>
        Assert.Equal("npm test", TestCommands.Detect(Repo(("package.json", """{"name": "app", "scripts": {"build": "tsc", "test": "vitest run"}}"""))));

    [Fact]
    public void Npm_without_a_test_script_has_no_command() =>
        Assert.Null(TestCommands.Detect(Repo(("package.json", """{"name": "app", "scripts": {"build": "tsc", "lint": "eslint ."}}"""))));

    [Theory]
    [InlineData("""{"name": "test", "scripts": {"build": "tsc"}}""")]
    [InlineData("""{"name": "app", "keywords": ["test"], "scripts": {"start": "node index.js"}}""")]
    [InlineData("""{"name": "app", "dependencies": {"test": "^3.3.0"}}""")]
    public void The_word_test_elsewhere_in_package_json_is_not_a_test_script(string packageJson) =>
        Assert.Null(TestCommands.Detect(Repo(("package.json", packageJson))));

    [Theory]
    [InlineData("""{"scripts": {"test": "jest" """)]
    [InlineData("""{"scripts": "npm run build"}""")]
    [InlineData("""["test"]""")]
    public void A_broken_package_json_is_no_test_script(string packageJson) =>
        Assert.Null(TestCommands.Detect(Repo(("package.json", packageJson))));

    [Fact]
    public void Npm_without_a_test_script_falls_through_to_the_next_stack() =>
        Assert.Equal("make test", TestCommands.Detect(Repo(("package.json", """{"scripts": {"build": "webpack"}}"""), ("Makefile", "test:\n\tnode test.js\n"))));

    [Theory]
    [InlineData("pytest.ini", "[pytest]\n")]
    [InlineData("conftest.py", "import pytest\n")]
    [InlineData("tox.ini", "[tox]\nenvlist = py312\n")]
    [InlineData("pyproject.toml", "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n")]
    public void Pytest_configuration_uses_pytest(string file, string content) =>
        Assert.Equal("pytest", TestCommands.Detect(Repo((file, content))));

    [Theory]
    [InlineData("setup.py")]
    [InlineData("pyproject.toml")]
    [InlineData("requirements.txt")]
    public void A_python_project_with_a_tests_folder_uses_pytest(string file) =>
        Assert.Equal("pytest", TestCommands.Detect(Repo((file, "# python\n"), ("tests/test_app.py", "def test_ok():\n    assert True\n"))));

    [Fact]
    public void A_python_project_without_pytest_or_tests_has_no_command() =>
        Assert.Null(TestCommands.Detect(Repo(("pyproject.toml", "[project]\nname = \"app\"\n"), ("requirements.txt", "requests\n"))));

    [Fact]
    public void Go_modules_use_go_test() =>
        Assert.Equal("go test ./...", TestCommands.Detect(Repo(("go.mod", "module example.com/app\n\ngo 1.22\n"))));

    [Fact]
    public void Cargo_uses_cargo_test() =>
        Assert.Equal("cargo test", TestCommands.Detect(Repo(("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\n"))));

    [Theory]
    [InlineData("build:\n\tcc -o app app.c\n\ntest: build\n\t./app --self-test\n")]
    [InlineData("test:\n\t./run-tests.sh\n")]
    public void A_makefile_with_a_test_target_uses_make_test(string makefile) =>
        Assert.Equal("make test", TestCommands.Detect(Repo(("Makefile", makefile))));

    [Theory]
    [InlineData("build:\n\tcc -o app app.c\n")]
    [InlineData(".PHONY: test\nbuild:\n\tcc app.c\n")]
    [InlineData("tests:\n\t./run.sh\n\ttest: not a target\n")]
    public void A_makefile_without_a_test_target_has_no_command(string makefile) =>
        Assert.Null(TestCommands.Detect(Repo(("Makefile", makefile))));

    [Fact]
    public void Nothing_recognisable_has_no_command()
    {
        Assert.Null(TestCommands.Detect(Repo()));
        Assert.Null(TestCommands.Detect(Repo(("README.md", "# app\n"), ("src/main.c", "int main(void) { return 0; }\n"), ("tests/", ""))));
    }
}
