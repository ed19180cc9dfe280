using Lucene.Net.Analysis.Standard;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Lucene.Net.Util;
using RootCause.Search;
using RootCause.Tests.Infrastructure;

namespace RootCause.Tests.Search;

/// <summary>
/// The memory-mapped directory the index reads through: its inputs and their clones carry no clone
/// registry (the cause of slow gen0 collections), it answers queries like Lucene's own
/// <see cref="MMapDirectory"/>, and a clone read after its file was closed fails cleanly.
/// </summary>
public sealed class UntrackedMMapDirectoryTests : IDisposable
{
    private static readonly LuceneVersion Version = LuceneVersion.LUCENE_48;
    private readonly ScratchDirectory _root = new("rootcause-mmap");

    public void Dispose() => _root.Dispose();

    private DirectoryInfo WriteIndex(string name, int documents)
    {
        var path = new DirectoryInfo(Path.Combine(_root.Path, name));
        path.Create();
        using var directory = FSDirectory.Open(path);
        using var writer = new IndexWriter(directory, new IndexWriterConfig(Version, new StandardAnalyzer(Version)));
        for (var i = 0; i < documents; i++)
        {
            writer.AddDocument(new Document
            {
                new StringField("id", i.ToString(), Field.Store.YES),
                new TextField("body", i % 3 == 0 ? $"checkout timeout number {i}" : $"healthy request {i}", Field.Store.YES),
            });
        }
        writer.Commit();
        return path;
    }

    private static string LargestFile(Lucene.Net.Store.Directory directory) =>
        directory.ListAll().OrderByDescending(directory.FileLength).First();

    [Fact]
    public void InputsClonesAndSlicesRecordNoClones()
    {
        Assert.True(UntrackedMMapDirectory.RemovesCloneTracking, "Lucene.NET no longer has ByteBufferIndexInput.clones");
        var path = WriteIndex("untracked", 500);

        // Lucene's own mapped directory tracks clones: the check below can tell the two apart.
        using (var tracked = new MMapDirectory(path))
        using (var input = tracked.OpenInput(LargestFile(tracked), IOContext.DEFAULT))
        {
            Assert.True(UntrackedMMapDirectory.TracksClones(input));
        }

        using var directory = new UntrackedMMapDirectory(path);
        var file = LargestFile(directory);
        using var file1 = directory.OpenInput(file, IOContext.DEFAULT);
        using var clone = (IndexInput)file1.Clone();
        using var slicer = directory.CreateSlicer(file, IOContext.DEFAULT);
        using var slice = slicer.OpenSlice("part", 1, directory.FileLength(file) - 1);
        Assert.False(UntrackedMMapDirectory.TracksClones(file1));
        Assert.False(UntrackedMMapDirectory.TracksClones(clone));
        Assert.False(UntrackedMMapDirectory.TracksClones(slice));

        // The clone and the slice read the file's bytes.
        var first = new byte[64];
        file1.Seek(1);
        file1.ReadBytes(first, 0, first.Length);
        var viaSlice = new byte[64];
        slice.ReadBytes(viaSlice, 0, viaSlice.Length);
        Assert.Equal(first, viaSlice);
        clone.Seek(1);
        var viaClone = new byte[64];
        clone.ReadBytes(viaClone, 0, viaClone.Length);
        Assert.Equal(first, viaClone);
    }

    [Fact]
    public void QueriesAnswerAsWithLucenesMappedDirectory()
    {
        var path = WriteIndex("answers", 3000);
        List<string> Search(Lucene.Net.Store.Directory directory)
        {
            using var reader = DirectoryReader.Open(directory);
            var searcher = new IndexSearcher(reader);
            var hits = searcher.Search(new TermQuery(new Term("body", "timeout")), 5000, new Sort(new SortField("id", SortFieldType.STRING)));
            return hits.ScoreDocs.Select(d => searcher.Doc(d.Doc).Get("id")).ToList();
        }
        using var untracked = new UntrackedMMapDirectory(path);
        using var plain = new MMapDirectory(path);
        var expected = Search(plain);
        Assert.Equal(1000, expected.Count);
        Assert.Equal(expected, Search(untracked));
    }

    [Fact]
    public void AStrayCloneReadAfterItsFileClosedThrowsInsteadOfReadingFreedMemory()
    {
        var path = WriteIndex("closed", 200);
        using var directory = new UntrackedMMapDirectory(path);
        var input = directory.OpenInput(LargestFile(directory), IOContext.DEFAULT);
        var clone = (IndexInput)input.Clone();
        clone.ReadByte();
        input.Dispose();
        Assert.Throws<ObjectDisposedException>(() =>
        {
            var buffer = new byte[32];
            clone.Seek(0);
            clone.ReadBytes(buffer, 0, buffer.Length);
        });
    }
}
