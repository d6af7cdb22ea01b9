using System.Text;
using Microsoft.Data.Sqlite;
using PaxosActors.Persistence;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Persistence;

/// <summary>
/// <see cref="SqliteJournal.Prepare"/> on damaged files: what SQLite says about each kind of damage, and that a
/// file found unreadable stays so for the rest of the process. Each test has its own path (the verdict is
/// remembered per path).
/// </summary>
public sealed class SqliteJournalSpec : IDisposable
{
    private readonly string _path = TestConfig.NewDatabasePath();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (string f in new[] { _path, _path + "-wal", _path + "-shm" })
            if (File.Exists(f)) File.Delete(f);
    }

    [Fact]
    public void A_missing_file_becomes_an_empty_journal_in_WAL_mode()
    {
        SqliteJournal.Prepare(_path);
        Assert.True(File.Exists(_path));
        Assert.Equal("wal", Scalar("PRAGMA journal_mode;"));
    }

    [Fact]
    public void A_file_truncated_to_nothing_is_an_empty_journal_not_an_unreadable_one()
    {
        WriteJournal();
        File.WriteAllBytes(_path, []);
        SqliteJournal.Prepare(_path); // the acceptor's lost-state rule deals with an empty journal
        Assert.Equal("wal", Scalar("PRAGMA journal_mode;"));
    }

    [Fact]
    public void A_file_written_by_the_old_Akka_Persistence_Sql_journal_is_refused_not_taken_for_an_empty_one()
    {
        using (var connection = new SqliteConnection(SqliteJournal.ConnectionString(_path)))
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            // The layout of Akka.Persistence.Sql's journal table, with one event in it.
            cmd.CommandText = """
                CREATE TABLE journal (ordering INTEGER PRIMARY KEY, created INTEGER, persistence_id TEXT,
                  sequence_number INTEGER, deleted INTEGER, manifest TEXT, message BLOB, identifier INTEGER, writer_uuid TEXT);
                INSERT INTO journal VALUES (1, 0, 'acceptor-1', 1, 0, 'V', x'01', 4242, 'w');
                """;
            cmd.ExecuteNonQuery();
        }

        var e = Assert.Throws<JournalUnreadableException>(() => SqliteJournal.Prepare(_path));
        Assert.False(e.Corrupt);
        Assert.Contains("Akka.Persistence.Sql", e.Message);
        Assert.Contains("--rebuild-acceptor", e.Advice);
        Assert.Equal(1L, Convert.ToInt64(Scalar("SELECT COUNT(*) FROM journal;"))); // nothing was changed
    }

    [Fact]
    public void A_journal_of_this_version_is_not_mistaken_for_the_old_layout()
    {
        SqliteJournal.Prepare(_path);
        SqliteStore.CreateTables(_path, SqliteStore.Full); // the tables SqliteWriteJournal and SqliteSnapshotStore write
        SqliteConnection.ClearAllPools();
        SqliteJournal.Prepare(_path);
        Assert.Equal("1", Scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'paxos_journal';"));
    }

    [Fact]
    public void A_file_whose_header_is_garbage_is_corrupt_file_is_not_a_database()
    {
        WriteJournal();
        using (var f = new FileStream(_path, FileMode.Open, FileAccess.Write))
            f.Write(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("not an SQLite file! ", 26))));

        var e = Assert.Throws<JournalUnreadableException>(() => SqliteJournal.Prepare(_path));
        Assert.True(e.Corrupt);
        Assert.Equal(Path.GetFullPath(_path), e.Path);
        Assert.Contains("file is not a database", e.SqliteError);
        Assert.Equal($"the journal file {Path.GetFullPath(_path)} is corrupt (SQLite Error 26: 'file is not a database')", e.Message);
        Assert.Contains($"move {Path.GetFileName(_path)}* aside", e.Advice);
        Assert.Contains("--rebuild-acceptor", e.Advice);
    }

    [Theory]
    [InlineData(2)]    // half
    [InlineData(3)]    // a third: not a whole number of pages
    public void A_truncated_file_is_corrupt_database_disk_image_is_malformed(int fraction)
    {
        WriteJournal();
        long length = new FileInfo(_path).Length;
        using (var f = new FileStream(_path, FileMode.Open, FileAccess.Write)) f.SetLength(length / fraction);

        var e = Assert.Throws<JournalUnreadableException>(() => SqliteJournal.Prepare(_path));
        Assert.True(e.Corrupt);
        Assert.Contains("database disk image is malformed", e.SqliteError);
    }

    [Theory]
    [InlineData(3, "quick_check: *** in database main *** Tree 3 page 3")] // the index's root: only quick_check reads it
    [InlineData(-1, "SQLite Error 11: 'database disk image is malformed'")]                               // the last page
    public void A_damaged_page_inside_the_file_is_corrupt(int page, string expected)
    {
        WriteJournal();
        long pages = new FileInfo(_path).Length / 4096;
        if (page < 0) page = (int)pages;
        using (var f = new FileStream(_path, FileMode.Open, FileAccess.Write))
        {
            f.Position = (page - 1) * 4096L;
            f.Write(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("garbage!", 512))));
        }

        var e = Assert.Throws<JournalUnreadableException>(() => SqliteJournal.Prepare(_path));
        Assert.True(e.Corrupt, e.Message);
        Assert.StartsWith(expected, e.SqliteError);
    }

    [Fact]
    public void A_file_found_unreadable_stays_unreadable_in_this_process_even_once_it_is_moved_aside()
    {
        WriteJournal();
        File.WriteAllBytes(_path, Encoding.ASCII.GetBytes(new string('x', 8192)));
        var first = Assert.Throws<JournalUnreadableException>(() => SqliteJournal.Prepare(_path));

        File.Move(_path, _path + ".aside");
        SqliteConnection.ClearAllPools();
        try
        {
            var again = Assert.Throws<JournalUnreadableException>(() => SqliteJournal.Prepare(_path));
            Assert.Same(first, again);
            Assert.False(File.Exists(_path)); // not even opened: no new empty journal appears
        }
        finally
        {
            File.Delete(_path + ".aside");
        }
    }

    [Fact]
    public void A_file_found_unreadable_is_not_kept_open()
    {
        if (!Directory.Exists("/proc/self/fd")) return; // Linux: the open files of this process
        WriteJournal();
        File.WriteAllBytes(_path, Encoding.ASCII.GetBytes(new string('x', 8192)));
        Assert.Throws<JournalUnreadableException>(() => SqliteJournal.Prepare(_path));

        var open = Directory.GetFiles("/proc/self/fd").Select(fd => new FileInfo(fd).LinkTarget).OfType<string>();
        Assert.DoesNotContain(open, f => f.StartsWith(Path.GetFullPath(_path), StringComparison.Ordinal));
    }

    [Fact]
    public void A_file_sqlite_cannot_open_is_unreadable_but_not_called_corrupt()
    {
        Directory.CreateDirectory(_path); // a directory where the file should be

        try
        {
            var e = Assert.Throws<JournalUnreadableException>(() => SqliteJournal.Prepare(_path));
            Assert.False(e.Corrupt);
            Assert.StartsWith($"the journal file {Path.GetFullPath(_path)} is unreadable (SQLite Error 14", e.Message);
            Assert.Contains("Fix what keeps SQLite from opening it", e.Advice);
        }
        finally
        {
            Directory.Delete(_path);
        }
    }

    /// <summary>A journal with some pages of data, all in the main file (checkpointed, no -wal left), as a
    /// node's file is after SQLite's automatic checkpoints: damage to it is not masked by the WAL.</summary>
    private void WriteJournal()
    {
        SqliteJournal.Prepare(_path);
        using (var c = Open())
        {
            Execute(c, "CREATE TABLE journal (id INTEGER PRIMARY KEY, payload BLOB);");
            Execute(c, "CREATE INDEX journal_payload ON journal (payload);");
            for (int i = 0; i < 200; i++)
                Execute(c, $"INSERT INTO journal (payload) VALUES (printf('%0100d', {i}));");
            Execute(c, "PRAGMA wal_checkpoint(TRUNCATE);");
        }
        SqliteConnection.ClearAllPools(); // the last connection closes: SQLite removes the -wal
        Assert.True(new FileInfo(_path).Length >= 4 * 4096);
    }

    private string Scalar(string sql)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToString(cmd.ExecuteScalar())!;
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _path, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
