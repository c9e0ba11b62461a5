namespace DevOrchestrator.UnitTests.Architecture;

/// <summary>The checkout the tests were built from: the first directory above the test binaries holding DevOrchestrator.slnx.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "DevOrchestrator.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (DevOrchestrator.slnx) is not above " + AppContext.BaseDirectory);
    }
}
