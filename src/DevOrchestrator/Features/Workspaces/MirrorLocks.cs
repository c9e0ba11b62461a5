using System.Collections.Concurrent;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Serialises work on one repository mirror: a semaphore per mirror in this process, and a lock file opened with
/// <see cref="FileShare.None"/> across processes (released by the OS if the process dies).
/// </summary>
public sealed class MirrorLocks(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _local = new(StringComparer.Ordinal);

    public async Task<IAsyncDisposable> AcquireAsync(string mirrorPath, CancellationToken cancellationToken)
    {
        var semaphore = _local.GetOrAdd(mirrorPath, _ => new SemaphoreSlim(1, 1));
        await semaphore.WaitAsync(cancellationToken);
        try
        {
            var lockPath = mirrorPath + ".lock";
            Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
            while (true)
            {
                try
                {
                    var file = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                    return new Held(semaphore, file);
                }
                catch (IOException)
                {
                    // Another process holds it.
                    await Task.Delay(TimeSpan.FromMilliseconds(100), timeProvider, cancellationToken);
                }
            }
        }
        catch
        {
            semaphore.Release();
            throw;
        }
    }

    private sealed class Held(SemaphoreSlim semaphore, FileStream file) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await file.DisposeAsync();
            semaphore.Release();
        }
    }
}
