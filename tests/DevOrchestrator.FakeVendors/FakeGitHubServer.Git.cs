using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DevOrchestrator.FakeVendors;

/// <summary>The git side of <see cref="FakeGitHubServer"/>: bare repositories, and smart HTTP through <c>git http-backend</c>.</summary>
public sealed partial class FakeGitHubServer
{
    private const string ZeroSha = "0000000000000000000000000000000000000000";

    /// <summary>
    /// Creates the bare repository <c>{GitRoot}/{owner}/{name}.git</c> with one commit (README.md) on
    /// <paramref name="defaultBranch"/>, pushes enabled, and serves it; returns its clone URL.
    /// </summary>
    public async Task<string> CreateRepositoryAsync(string owner, string name, string defaultBranch = "main", bool isPrivate = false, CancellationToken cancellationToken = default)
    {
        var bare = Path.Combine(GitRoot, owner, name + ".git");
        lock (_lock)
        {
            if (Repository(owner, name) is not null)
            {
                throw new InvalidOperationException($"repository {owner}/{name} exists");
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(bare)!);
        await GitAsync(GitRoot, null, cancellationToken, "init", "--bare", "--initial-branch=" + defaultBranch, bare);
        await GitAsync(bare, null, cancellationToken, "config", "http.receivepack", "true");
        var blob = await GitAsync(bare, $"# {name}\n", cancellationToken, "hash-object", "-w", "--stdin");
        var tree = await GitAsync(bare, $"100644 blob {blob}\tREADME.md\n", cancellationToken, "mktree");
        var commit = await GitAsync(bare, null, cancellationToken, "commit-tree", tree, "-m", "Initial commit");
        await GitAsync(bare, null, cancellationToken, "update-ref", "refs/heads/" + defaultBranch, commit, ZeroSha);
        lock (_lock)
        {
            _repositories[$"{owner}/{name}"] = new RepositoryState(_nextId++, owner, name, isPrivate, defaultBranch, bare);
        }

        return CloneUrl(owner, name);
    }

    /// <summary>Commits <paramref name="content"/> as the root file <paramref name="fileName"/> on top of <paramref name="branch"/> (directly in the bare repository); returns the new commit.</summary>
    public async Task<string> CommitFileAsync(string owner, string name, string branch, string fileName, string content, CancellationToken cancellationToken = default)
    {
        RepositoryState repository;
        lock (_lock)
        {
            repository = Repository(owner, name) ?? throw new InvalidOperationException($"no repository {owner}/{name}");
        }

        var parent = await ResolveAsync(repository, "refs/heads/" + branch, cancellationToken) ?? throw new InvalidOperationException($"no branch {branch}");
        var blob = await GitAsync(repository.BarePath, content, cancellationToken, "hash-object", "-w", "--stdin");
        var entries = (await GitAsync(repository.BarePath, null, cancellationToken, "ls-tree", parent))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line[(line.IndexOf('\t', StringComparison.Ordinal) + 1)..] != fileName)
            .Append($"100644 blob {blob}\t{fileName}");
        var tree = await GitAsync(repository.BarePath, string.Join('\n', entries) + "\n", cancellationToken, "mktree");
        var commit = await GitAsync(repository.BarePath, null, cancellationToken, "commit-tree", tree, "-p", parent, "-m", "Change " + fileName);
        await GitAsync(repository.BarePath, null, cancellationToken, "update-ref", "refs/heads/" + branch, commit, parent);
        return commit;
    }

    /// <summary>The repository's branches and their commits, read from the bare repository.</summary>
    public Task<IReadOnlyDictionary<string, string>> BranchesAsync(string owner, string name, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return BranchesAsync(Repository(owner, name) ?? throw new InvalidOperationException($"no repository {owner}/{name}"), cancellationToken);
        }
    }

    private void MapGitRoutes(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (ValidationFailedException ex) when (!context.Response.HasStarted)
            {
                await WriteJsonAsync(context, 422, ex.ToJson());
            }
        });
        app.MapMethods("/{owner}/{repo}.git/{**path}", ["GET", "POST"], ServeGitAsync);
    }

    /// <summary>Runs <c>git http-backend</c> as a CGI for one request and streams its answer back.</summary>
    private async Task ServeGitAsync(HttpContext context)
    {
        RepositoryState repository;
        lock (_lock)
        {
            repository = Repository((string)context.GetRouteValue("owner")!, (string)context.GetRouteValue("repo")!) ?? throw new BadVendorRequestException(404, "Repository not found.");
        }

        var request = context.Request;
        var body = request.Body;
        if (!body.CanSeek)
        {
            throw new InvalidOperationException("the git request body was not buffered (FakeVendorServer buffers every body)");
        }

        body.Position = 0;
        var start = GitStartInfo(GitRoot);
        start.ArgumentList.Add("http-backend");
        start.RedirectStandardInput = true;
        var environment = start.Environment;
        environment["GIT_PROJECT_ROOT"] = GitRoot;
        environment["GIT_HTTP_EXPORT_ALL"] = "1";
        environment["PATH_INFO"] = $"/{repository.Owner}/{repository.Name}.git/{context.GetRouteValue("path")}";
        environment["REQUEST_METHOD"] = request.Method;
        environment["QUERY_STRING"] = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
        environment["CONTENT_TYPE"] = request.ContentType ?? "";
        environment["CONTENT_LENGTH"] = body.Length.ToString(CultureInfo.InvariantCulture);
        environment["REMOTE_USER"] = "x-access-token";
        environment["REMOTE_ADDR"] = "127.0.0.1";
        if (request.Headers.ContentEncoding.ToString() is { Length: > 0 } encoding)
        {
            environment["HTTP_CONTENT_ENCODING"] = encoding;
        }

        if (request.Headers["Git-Protocol"].ToString() is { Length: > 0 } protocol)
        {
            environment["HTTP_GIT_PROTOCOL"] = protocol;
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync(context.RequestAborted);
        var input = Task.Run(async () =>
        {
            await body.CopyToAsync(process.StandardInput.BaseStream, context.RequestAborted);
            process.StandardInput.Close();
        }, context.RequestAborted);

        var output = process.StandardOutput.BaseStream;
        var (headers, rest) = await ReadCgiHeadersAsync(output, context.RequestAborted);
        context.Response.StatusCode = 200;
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = int.Parse(value.Split(' ')[0], CultureInfo.InvariantCulture);
            }
            else
            {
                context.Response.Headers.Append(name, value);
            }
        }

        await context.Response.Body.WriteAsync(rest, context.RequestAborted);
        await output.CopyToAsync(context.Response.Body, context.RequestAborted);
        await input;
        await process.WaitForExitAsync(context.RequestAborted);
        _ = await errors;
    }

    /// <summary>Reads the CGI header block (up to the first empty line); returns the headers and the body bytes read past it.</summary>
    private static async Task<(List<(string Name, string Value)> Headers, byte[] BodyStart)> ReadCgiHeadersAsync(Stream output, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        while (true)
        {
            var read = await output.ReadAsync(chunk, cancellationToken);
            if (read == 0)
            {
                break;
            }

            buffer.Write(chunk, 0, read);
            var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            var (end, separator) = bytes.IndexOf("\r\n\r\n"u8) is var crlf and >= 0 ? (crlf, 4) : bytes.IndexOf("\n\n"u8) is var lf and >= 0 ? (lf, 2) : (-1, 0);
            if (end >= 0)
            {
                var headers = Encoding.ASCII.GetString(bytes[..end]).Split('\n')
                    .Select(line => line.TrimEnd('\r'))
                    .Where(line => line.Contains(':', StringComparison.Ordinal))
                    .Select(line => (line[..line.IndexOf(':', StringComparison.Ordinal)].Trim(), line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()))
                    .ToList();
                return (headers, bytes[(end + separator)..].ToArray());
            }
        }

        throw new InvalidOperationException("git http-backend ended without CGI headers");
    }

    private static async Task<IReadOnlyDictionary<string, string>> BranchesAsync(RepositoryState repository, CancellationToken cancellationToken)
    {
        var lines = await GitAsync(repository.BarePath, null, cancellationToken, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/");
        return lines.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2))
            .ToDictionary(parts => parts[1]["refs/heads/".Length..], parts => parts[0], StringComparer.Ordinal);
    }

    /// <summary>The commit a full ref name points at, or null.</summary>
    private static async Task<string?> ResolveAsync(RepositoryState repository, string refName, CancellationToken cancellationToken)
    {
        var (code, output, _) = await RunGitAsync(repository.BarePath, null, cancellationToken, "rev-parse", "--verify", "--quiet", refName + "^{commit}");
        return code == 0 && (await RunGitAsync(repository.BarePath, null, cancellationToken, "show-ref", "--verify", "--quiet", refName)).ExitCode == 0 ? output : null;
    }

    private static async Task<bool> CommitExistsAsync(RepositoryState repository, string sha, CancellationToken cancellationToken) =>
        sha.Length == 40 && sha.All(char.IsAsciiHexDigitLower)
        && (await RunGitAsync(repository.BarePath, null, cancellationToken, "cat-file", "-e", sha + "^{commit}")).ExitCode == 0;

    private async Task<bool> IsValidRefNameAsync(string refName, CancellationToken cancellationToken) =>
        (await RunGitAsync(GitRoot, null, cancellationToken, "check-ref-format", refName)).ExitCode == 0;

    /// <summary>Creates the ref only if it does not exist (git checks that atomically); false when it exists.</summary>
    private static async Task<bool> CreateRefAsync(RepositoryState repository, string refName, string sha, CancellationToken cancellationToken) =>
        (await RunGitAsync(repository.BarePath, null, cancellationToken, "update-ref", refName, sha, ZeroSha)).ExitCode == 0;

    private static async Task<bool> HasCommitsBetweenAsync(RepositoryState repository, string baseBranch, string head, CancellationToken cancellationToken)
    {
        var count = await GitAsync(repository.BarePath, null, cancellationToken, "rev-list", "--count", $"refs/heads/{baseBranch}..refs/heads/{head}");
        return int.Parse(count, CultureInfo.InvariantCulture) > 0;
    }

    private static async Task<string> GitAsync(string workingDirectory, string? input, CancellationToken cancellationToken, params string[] args)
    {
        var (code, output, error) = await RunGitAsync(workingDirectory, input, cancellationToken, args);
        return code == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', args)} failed ({code}): {error}");
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunGitAsync(string workingDirectory, string? input, CancellationToken cancellationToken, params string[] args)
    {
        var start = GitStartInfo(workingDirectory);
        start.RedirectStandardInput = input is not null;
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    /// <summary>git with no system or user configuration and a fixed identity, so the machine's setup cannot leak in.</summary>
    private static ProcessStartInfo GitStartInfo(string workingDirectory)
    {
        var start = new ProcessStartInfo("git")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("GIT_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_TERMINAL_PROMPT"] = "0";
        start.Environment["GIT_AUTHOR_NAME"] = start.Environment["GIT_COMMITTER_NAME"] = "Fake GitHub";
        start.Environment["GIT_AUTHOR_EMAIL"] = start.Environment["GIT_COMMITTER_EMAIL"] = "fake-github@example.com";
        return start;
    }
}
