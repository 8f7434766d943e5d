namespace MemoryLab.Numerics;

/// <summary>
/// Where one thread sleeps until another wakes it, without a lost wake-up: the sleeper announces itself, checks its condition
/// once more, and then either takes the announcement back (<see cref="Cancel"/>) or sleeps (<see cref="Sleep()"/>); the waker
/// changes the state first and then calls <see cref="Wake"/>, which releases the sleeper only if it announced. Both the
/// announcement and the wake are full fences, so at least one of the two threads sees the other's write. A wake-up goes
/// through the kernel only when the other thread really sleeps (it costs the waker about 20 µs on the 2-core VM this project
/// is developed on). The semaphore never makes a wait handle, so there is nothing to dispose.
/// </summary>
internal sealed class Sleeper
{
    private readonly SemaphoreSlim _semaphore = new(0);
    private int _announced;

    /// <summary>Whether the thread has announced that it sleeps.</summary>
    public bool IsAnnounced => Volatile.Read(ref _announced) == 1;

    /// <summary>The sleeping thread: about to sleep (check the condition again after this).</summary>
    public void Announce() => Interlocked.Exchange(ref _announced, 1);

    /// <summary>The sleeping thread: the condition came true after <see cref="Announce"/>; returns once any wake-up meant for
    /// this announcement has been taken.</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _announced, 0) == 0) _semaphore.Wait();
    }

    /// <summary>The sleeping thread: sleeps until <see cref="Wake"/>.</summary>
    public void Sleep() => _semaphore.Wait();

    /// <summary>The sleeping thread: sleeps until <see cref="Wake"/> or for at most <paramref name="timeout"/>; false when it
    /// timed out (the announcement is then taken back).</summary>
    public bool Sleep(TimeSpan timeout)
    {
        if (_semaphore.Wait(timeout)) return true;
        Cancel();
        return false;
    }

    /// <summary>The other thread, after changing the state the sleeper waits on: wakes it if it announced. A full fence, so
    /// the change may be a plain or volatile write.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _announced, 0) == 1) _semaphore.Release();
    }

    /// <summary>The sleeping thread: returns once <paramref name="done"/> holds for <paramref name="state"/>, spinning briefly
    /// before it sleeps (the other thread changes what <paramref name="done"/> reads, then calls <see cref="Wake"/>).</summary>
    public void WaitUntil<TState>(TState state, Func<TState, bool> done)
    {
        var spin = new SpinWait();
        for (int i = 0; i < 20 && !done(state); i++) spin.SpinOnce(sleep1Threshold: -1);
        while (!done(state))
        {
            Announce();
            if (done(state)) Cancel();
            else Sleep();
        }
    }
}
