using LibGit2Sharp;

namespace RootCause.Connectors.Git;

/// <summary>A commit the reader could not turn into a <see cref="CommitInfo"/>; it goes to the dead-letter queue.</summary>
public sealed record UnreadableCommit(string Sha, string Error);

/// <summary>A commit's place in a batch: its id and commit time.</summary>
public readonly record struct GitPosition(string Sha, DateTimeOffset At);

/// <summary>
/// One read: the commits found, oldest first (parents before children) in <see cref="Order"/>,
/// split into those read and those unreadable; whether more remain after them; and whether the
/// cursor's commit had gone (history rewritten), so time had to stand in for it.
/// </summary>
public sealed record GitBatch(IReadOnlyList<CommitInfo> Commits, IReadOnlyList<UnreadableCommit> Unreadable, IReadOnlyList<GitPosition> Order, bool HasMore, bool CursorLost)
{
    /// <summary>Commits found in this batch, readable or not.</summary>
    public int Count => Order.Count;
}

/// <summary>Where the poller reads: a repository directory, the branch, and how events name it.</summary>
public sealed record GitSource(string Path, string Repository, string? Branch, string? CommitUrl)
{
    public static GitSource From(ConnectorConfig config) =>
        new(config.Path ?? throw new InvalidOperationException("A git connector needs a path."),
            config.Repository ?? throw new InvalidOperationException("A git connector needs a repository."),
            config.Branch, config.CommitUrl);
}

/// <summary>
/// Reads commits from a local or mounted repository in-process (LibGit2Sharp; the native libgit2
/// ships in its package, so the silo needs no git installation). Changed paths are the diff
/// against the first parent (all files for a root commit); tags are those pointing at the
/// commit, annotated or lightweight.
/// </summary>
public static class GitRepositoryReader
{
    static GitRepositoryReader()
    {
        // A mounted repository usually belongs to another user than the silo's; the silo only reads it.
        GlobalSettings.SetOwnerValidation(false);
    }

    /// <summary>
    /// Commits on the branch after <paramref name="after"/> (excluding it and its ancestors), or, when
    /// that commit is unknown or not given, committed at or after <paramref name="since"/>; at most
    /// <paramref name="max"/>, oldest first.
    /// </summary>
    public static GitBatch ReadAfter(GitSource source, string? after, DateTimeOffset? since, int max, CancellationToken cancellationToken)
    {
        using var repository = Open(source);
        var tip = Tip(repository, source);
        var filter = new CommitFilter
        {
            IncludeReachableFrom = tip,
            SortBy = CommitSortStrategies.Topological | CommitSortStrategies.Time | CommitSortStrategies.Reverse,
        };
        var cursorLost = false;
        if (after is not null)
        {
            if (repository.Lookup<Commit>(after) is { } known)
            {
                filter.ExcludeReachableFrom = known;
                since = null;
            }
            else
            {
                cursorLost = true;
            }
        }
        var found = repository.Commits.QueryBy(filter)
            .Where(c => since is null || c.Committer.When >= since)
            .Take(max + 1)
            .ToList();
        var more = found.Count > max;
        return Describe(repository, source, more ? found[..max] : found, more, cursorLost, cancellationToken);
    }

    /// <summary>Commits on the branch committed in [from, to), oldest first.</summary>
    public static GitBatch ReadRange(GitSource source, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        using var repository = Open(source);
        var filter = new CommitFilter
        {
            IncludeReachableFrom = Tip(repository, source),
            SortBy = CommitSortStrategies.Topological | CommitSortStrategies.Time | CommitSortStrategies.Reverse,
        };
        var found = repository.Commits.QueryBy(filter).Where(c => c.Committer.When >= from && c.Committer.When < to).ToList();
        return Describe(repository, source, found, hasMore: false, cursorLost: false, cancellationToken);
    }

    /// <summary>One commit by id (a dead letter's replay).</summary>
    public static CommitInfo ReadOne(GitSource source, string sha)
    {
        using var repository = Open(source);
        var commit = repository.Lookup<Commit>(sha) ?? throw new InvalidOperationException($"commit {sha} is not in {source.Path}.");
        return Describe(repository, source, commit, TagsByCommit(repository));
    }

    private static Repository Open(GitSource source)
    {
        if (!Directory.Exists(source.Path))
        {
            throw new DirectoryNotFoundException($"The repository directory {source.Path} does not exist on this silo.");
        }
        return new Repository(source.Path);
    }

    private static Commit Tip(Repository repository, GitSource source)
    {
        if (source.Branch is null)
        {
            return repository.Head.Tip ?? throw new InvalidOperationException($"{source.Path} has no commits on HEAD yet.");
        }
        var branch = repository.Branches[source.Branch] ?? repository.Branches[$"origin/{source.Branch}"]
            ?? throw new InvalidOperationException($"{source.Path} has no branch {source.Branch}.");
        return branch.Tip ?? throw new InvalidOperationException($"Branch {source.Branch} of {source.Path} has no commits.");
    }

    private static GitBatch Describe(Repository repository, GitSource source, IReadOnlyList<Commit> commits, bool hasMore, bool cursorLost, CancellationToken cancellationToken)
    {
        var tags = TagsByCommit(repository);
        var read = new List<CommitInfo>(commits.Count);
        var unreadable = new List<UnreadableCommit>();
        foreach (var commit in commits)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                read.Add(Describe(repository, source, commit, tags));
            }
            catch (LibGit2SharpException e)
            {
                unreadable.Add(new UnreadableCommit(commit.Sha, e.Message));
            }
        }
        return new GitBatch(read, unreadable, commits.Select(c => new GitPosition(c.Sha, c.Committer.When.ToUniversalTime())).ToList(), hasMore, cursorLost);
    }

    private static CommitInfo Describe(Repository repository, GitSource source, Commit commit, ILookup<string, string> tags)
    {
        var parent = commit.Parents.FirstOrDefault();
        var changes = repository.Diff.Compare<TreeChanges>(parent?.Tree, commit.Tree, new CompareOptions { Similarity = SimilarityOptions.None });
        var files = new List<string>(changes.Count);
        foreach (var change in changes)
        {
            files.Add(change.Path);
            if (change.OldPath is { Length: > 0 } old && old != change.Path)
            {
                files.Add(old);
            }
        }
        return new CommitInfo
        {
            Repository = source.Repository,
            Sha = commit.Sha,
            Branch = source.Branch ?? (repository.Head.IsCurrentRepositoryHead ? repository.Head.FriendlyName : null),
            AuthorName = commit.Author.Name,
            AuthorEmail = commit.Author.Email,
            Message = commit.Message,
            Files = files,
            Tags = [.. tags[commit.Sha].Order(StringComparer.Ordinal)],
            Url = source.CommitUrl?.Replace("{sha}", commit.Sha, StringComparison.Ordinal),
            Timestamp = commit.Committer.When.ToUniversalTime(),
        };
    }

    private static ILookup<string, string> TagsByCommit(Repository repository) =>
        repository.Tags
            .Select(t => (Target: t.PeeledTarget as Commit ?? t.Target as Commit, t.FriendlyName))
            .Where(t => t.Target is not null)
            .ToLookup(t => t.Target!.Sha, t => t.FriendlyName, StringComparer.Ordinal);
}
