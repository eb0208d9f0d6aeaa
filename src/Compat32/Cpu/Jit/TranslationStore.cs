using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Compat32.Cpu;

/// <summary>
/// Translations kept on disk between runs (the code cache: --code-cache, COMPAT32_CODE_CACHE). A program's
/// templates (JitCode.Template: host code valid in any region of its kind once its rel32 fields are moved) are
/// written to one file per program when the run ends, and read when a later run execs the same program path, so a
/// program's second start copies the code its first one translated instead of interpreting it until it is hot and
/// translating it again (the way Rosetta 2 and the Windows x86 emulators keep their translations; QEMU's user mode
/// translates every run afresh). Nothing from the file is trusted that can be checked where it is used:
/// - an entry is taken only by a block whose guest bytes are exactly the bytes it was translated from
///   (DecodeCache.DecodeBlock compares them, as DecodePool does across processes), and only by a region of the same
///   kind (JitCode.FromTemplate's variant checks), where the PIC thunks it runs in place are the same (SameThunks);
/// - a file is read only by the build that wrote it, on a host with the same features, with the same COMPAT32_JIT_*
///   settings (its directory is named by a hash of them: Directory), and only whole (an XxHash3 checksum over it);
/// - every offset and count in an entry is checked against its code and block before it is used (Parse, Find).
/// Lock: Lock guards the loaded images (and their parsed entries), the stores and their fresh entries; files are
/// written to a temporary name and renamed, so a reader (another run) sees an old file or a new one, never a torn one.
/// </summary>
public static class TranslationStore
{
    /// <summary>Entries one file holds at most (about 450 bytes each: python3.11 -S needs ~3,000).</summary>
    const int MaxEntries = 1 << 16;
    const long MaxFileBytes = 64L << 20;
    static readonly byte[] Magic = "C32CODE\u0002"u8.ToArray();

    /// <summary>A translation as stored: where its block starts, the guest bytes it was made from, the template.</summary>
    internal sealed class Entry
    {
        public required uint Start;
        public required ReadOnlyMemory<byte> Bytes;
        public required JitCode.Template Template;
    }

    static readonly object Lock = new();
    static readonly List<Image> images = new();                    // Lock: every file loaded this run
    static readonly Dictionary<string, Store> stores = new();       // Lock: by program path
    static string? dir;                                             // written once by Configure (before any guest runs)
    /// <summary>Some file was loaded or some store is open: DecodeBlock looks entries up.</summary>
    internal static volatile bool Active;

    /// <summary>Counters for --stats (machine-wide): entries read from files, blocks whose code was copied from
    /// one, entries written.</summary>
    public static long Loaded, Used, Saved;

    /// <summary>Blocks that ran at least this many times (but fewer than the threshold) are translated for the cache
    /// when a program's second or later run ends (Jit.TranslateForCodeCache): COMPAT32_CODE_CACHE_MIN, default 32.
    /// Their copies are made at a block's first run in the next, and a copy costs a few microseconds (python3.11
    /// -S's warm start: 2 -> 202 ms, 8 -> 193, 32 -> 167, only what reached the threshold -> 184; cold 227).</summary>
    public static readonly int MinHits = int.TryParse(Environment.GetEnvironmentVariable("COMPAT32_CODE_CACHE_MIN"), out int m) && m > 0 ? m : 32;

    /// <summary>Keep translations under root (null: off). Called once, before the first program runs.</summary>
    public static void Configure(string? root)
    {
        if (root == null) { dir = null; return; }
        try
        {
            string d = Path.Combine(Path.GetFullPath(root), BuildKey());
            if (!System.IO.Directory.Exists(d))
            {
                System.IO.Directory.CreateDirectory(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                Prune(Path.GetDirectoryName(d)!, d);
            }
            dir = d;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            dir = null; // a cache we cannot keep is no cache
        }
    }

    /// <summary>The directory this build's files go to (null: off).</summary>
    public static string? Directory => dir;

    /// <summary>The default root: $XDG_CACHE_HOME/compat32/code, else ~/.cache/compat32/code (null: no home).</summary>
    public static string? DefaultRoot()
    {
        string? x = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(x) && Path.IsPathRooted(x)) return Path.Combine(x, "compat32", "code");
        string? h = Environment.GetEnvironmentVariable("HOME");
        return string.IsNullOrEmpty(h) ? null : Path.Combine(h, ".cache", "compat32", "code");
    }

    /// <summary>What a file's host code depends on besides the guest bytes: this build (the running binary and the
    /// assembly, by path, size and time), the host CPU's features the translator uses, the translator's settings
    /// (COMPAT32_JIT_*, COMPAT32_HOSTFAULT*, COMPAT32_BLOCK_JCC).</summary>
    static string BuildKey()
    {
        var sb = new StringBuilder("v1;");
        foreach (string? p in new[] { Environment.ProcessPath, typeof(TranslationStore).Assembly.Location })
        {
            if (string.IsNullOrEmpty(p)) continue;
            var fi = new FileInfo(p);
            sb.Append(p).Append(';').Append(fi.Exists ? fi.Length : -1).Append(';').Append(fi.Exists ? fi.LastWriteTimeUtc.Ticks : 0).Append(';');
        }
        sb.Append(typeof(TranslationStore).Assembly.ManifestModule.ModuleVersionId).Append(';');
        sb.Append((ulong)Translator.HostFeatureSet).Append(';').Append(HostFaults.Active).Append(';');
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (e.Key is string k && (k.StartsWith("COMPAT32_JIT", StringComparison.Ordinal) || k.StartsWith("COMPAT32_HOSTFAULT", StringComparison.Ordinal)
                || k == "COMPAT32_BLOCK_JCC")) env.Add(k + "=" + e.Value);
        env.Sort(StringComparer.Ordinal);
        foreach (var e in env) sb.Append(e).Append(';');
        return XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(sb.ToString())).ToString("x16");
    }

    /// <summary>Keep the newest few builds' directories under root (each rebuild starts a new one).</summary>
    static void Prune(string root, string keep)
    {
        var old = new DirectoryInfo(root).GetDirectories()
            .Where(d => d.FullName != keep && d.Name.Length == 16 && d.Name.All(Uri.IsHexDigit))
            .OrderByDescending(d => d.LastWriteTimeUtc).Skip(3);
        foreach (var d in old)
            try { d.Delete(recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The store of the program at exePath (its file read once per run), or null when the cache is off.</summary>
    internal static Store? Open(string exePath)
    {
        string? d = dir;
        if (d == null) return null;
        lock (Lock)
        {
            if (stores.TryGetValue(exePath, out var s)) return s;
            string name = Path.GetFileName(exePath);
            var safe = new StringBuilder();
            foreach (char c in name.Length > 40 ? name[..40] : name) safe.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
            string file = Path.Combine(d, $"{safe}-{XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(exePath)):x16}.bin");
            s = new Store(file, Image.Read(file));
            stores[exePath] = s;
            if (s.Loaded is { } img) { images.Add(img); Loaded += img.Count; }
            Active = true;
            return s;
        }
    }

    /// <summary>The stored templates for a block starting at start whose guest bytes are bytes and which has count
    /// instructions (null: none): those whose sites fit it. An entry is parsed the first time a block asks for it.</summary>
    internal static JitCode.Template[]? Find(uint start, byte[] bytes, int count)
    {
        List<JitCode.Template>? found = null;
        lock (Lock)
            foreach (var img in images)
                for (int i = img.First(start); i < img.Count && img.StartAt(i) == start; i++)
                {
                    if (!img.BytesAt(i).SequenceEqual(bytes) || img.EntryAt(i) is not { } e || !Fits(e.Template, count)) continue;
                    (found ??= new()).Add(e.Template);
                    if (found.Count == 4) return found.ToArray(); // DecodePool's bound on variants per run
                }
        return found?.ToArray();
    }

    static bool Fits(JitCode.Template t, int count)
    {
        foreach (var s in t.Sites) if (s.Index < 0 || s.Index >= count) return false;
        return true;
    }

    /// <summary>The translations of one program: those its file held (Loaded, kept as read), and those its runs made
    /// since (fresh).</summary>
    internal sealed class Store
    {
        public readonly string File;
        internal readonly Image? Loaded;
        readonly List<(ulong Key, Entry E)> fresh = new();         // Lock
        readonly HashSet<ulong> keys = new();                      // Lock: every entry's key (KeyOf)
        long bytes;                                                 // Lock: the file's size with the fresh entries
        internal Store(string file, Image? loaded)
        {
            File = file;
            Loaded = loaded;
            if (loaded != null)
            {
                bytes = loaded.Length;
                for (int i = 0; i < loaded.Count; i++) keys.Add(loaded.KeyAt(i));
            }
        }
        internal int Count => (Loaded?.Count ?? 0) + fresh.Count;

        /// <summary>A template this run made for a block with these bytes (under the space's lock).</summary>
        internal void Add(uint start, byte[] guestBytes, JitCode.Template t)
        {
            var e = new Entry { Start = start, Bytes = guestBytes, Template = t };
            ulong key = KeyOf(e);
            lock (Lock)
            {
                if (Count >= MaxEntries || bytes + Size(e) > MaxFileBytes || !keys.Add(key)) return;
                fresh.Add((key, e));
                bytes += Size(e);
            }
        }

        /// <summary>Write the file if this run added enough to it (a temporary file renamed over it): a warm run that
        /// met a few blocks its first did not (other arguments, another path through the start-up) does not rewrite
        /// megabytes for them; they are kept once they are a sixteenth of the file or 256 entries.</summary>
        internal void Save()
        {
            string tmp = $"{File}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
            lock (Lock)
            {
                if (fresh.Count == 0 || (fresh.Count < 256 && fresh.Count * 16 < Count)) return;
                try
                {
                    using (var f = new FileStream(tmp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite, BufferSize = 0 }))
                        Serialize(f, Loaded, fresh);
                    System.IO.File.Move(tmp, File, overwrite: true);
                    Saved += fresh.Count;
                    fresh.Clear(); // (their keys stay: a later save of this run does not add them twice)
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    try { System.IO.File.Delete(tmp); } catch (Exception e2) when (e2 is IOException or UnauthorizedAccessException) { }
                }
            }
        }
    }

    /// <summary>Write every program's file that this run added to (at the end of the run).</summary>
    public static void SaveAll()
    {
        List<Store> all;
        lock (Lock) all = stores.Values.ToList();
        foreach (var s in all) s.Save();
    }

    /// <summary>What tells two entries apart for a program: where the block starts, its bytes, the variant.</summary>
    static ulong KeyOf(Entry e)
    {
        var t = e.Template;
        var h = new XxHash3();
        Span<byte> v = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32LittleEndian(v, e.Start);
        BinaryPrimitives.WriteUInt64LittleEndian(v[4..], (ulong)t.Features);
        v[12] = Flags(t);
        h.Append(v);
        h.Append(e.Bytes.Span);
        return h.GetCurrentHashAsUInt64();
    }

    static byte Flags(JitCode.Template t) => (byte)((t.Hoist ? 1 : 0) | (t.LowCode ? 2 : 0) | (t.Elide ? 4 : 0) | (t.ElideWrites ? 8 : 0)
        | (t.X87 ? 16 : 0) | (t.Simd ? 32 : 0) | (t.Mmx ? 64 : 0) | (t.PassTested ? 128 : 0));

    static long Size(Entry e) => 80 + e.Bytes.Length + e.Template.Code.Length + 4L * e.Template.Relocs.Length
        + 21L * e.Template.Sites.Length + 12L * e.Template.Links.Length + 8L * e.Template.Thunks.Length;

    // ---- the file (little-endian throughout): magic, entry count, then the index (one 16-byte record per entry,
    // sorted by start: start u32, offset of the entry in the file u32, key u64), the entries in the index's order,
    // and XxHash3 of everything before it. An entry: start u32, bytes (u16 length), features u64, flags u8, mmx
    // count i32, origin i64, code (i32 length), relocs (i32 count, i32 each), sites (i32 count; off i32, index i32,
    // host u8, fip u32, fop u32, fds u32), links (i32 count; cell i32, lookup i32, target u32), thunks (i32 count;
    // target u32, reg i32).
    const int IndexAt = 12, IndexRecord = 16;

    /// <summary>A file as read: checked whole (magic, checksum, index) at once, each entry parsed when first wanted.</summary>
    internal sealed class Image
    {
        /// <summary>The file's bytes, in native memory: a managed array this size is a large object, whose
        /// allocation set off a full collection in every warm start (kept for the run, like the code copied from it).</summary>
        readonly NativeBytes mem;
        public ReadOnlySpan<byte> Data => mem.GetSpan();
        public int Length => mem.Length;
        public readonly int Count;
        readonly int entriesEnd;
        readonly Entry?[] parsed;   // Lock
        readonly bool[] bad;        // Lock: parsed and refused

        Image(NativeBytes data, int count)
        {
            mem = data; Count = count; entriesEnd = data.Length - 8;
            parsed = new Entry?[count]; bad = new bool[count];
        }

        public uint StartAt(int i) => BinaryPrimitives.ReadUInt32LittleEndian(Data[(IndexAt + i * IndexRecord)..]);
        int OffsetAt(int i) => i == Count ? entriesEnd : (int)BinaryPrimitives.ReadUInt32LittleEndian(Data[(IndexAt + i * IndexRecord + 4)..]);
        public ulong KeyAt(int i) => BinaryPrimitives.ReadUInt64LittleEndian(Data[(IndexAt + i * IndexRecord + 8)..]);
        /// <summary>Entry i's bytes in the file.</summary>
        public ReadOnlySpan<byte> Raw(int i) => Data.Slice(OffsetAt(i), OffsetAt(i + 1) - OffsetAt(i));

        /// <summary>The guest bytes entry i was translated from (empty if its header does not fit).</summary>
        public ReadOnlySpan<byte> BytesAt(int i)
        {
            var raw = Raw(i);
            if (raw.Length < 6) return default;
            int n = BinaryPrimitives.ReadUInt16LittleEndian(raw[4..]);
            return n <= raw.Length - 6 ? raw.Slice(6, n) : default;
        }

        /// <summary>The first index whose start is at least start.</summary>
        public int First(uint start)
        {
            int lo = 0, hi = Count;
            while (lo < hi) { int mid = (lo + hi) >>> 1; if (StartAt(mid) < start) lo = mid + 1; else hi = mid; }
            return lo;
        }

        /// <summary>Entry i (under Lock), or null if it does not parse or is not what the index says.</summary>
        public Entry? EntryAt(int i)
        {
            if (parsed[i] is { } e) return e;
            if (bad[i]) return null;
            e = ParseEntry(mem.Memory.Slice(OffsetAt(i), OffsetAt(i + 1) - OffsetAt(i)));
            if (e == null || e.Start != StartAt(i)) { bad[i] = true; return null; }
            return parsed[i] = e;
        }

        /// <summary>The file at path, or null if it is missing, unreadable, from another format, or not whole.</summary>
        public static Image? Read(string path)
        {
            NativeBytes b;
            try
            {
                using var f = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
                long len = RandomAccess.GetLength(f);
                if (len > MaxFileBytes + 4096 || len < IndexAt + 8) return null;
                b = new NativeBytes((int)len);
                var span = b.GetSpan();
                for (int got = 0; got < span.Length;)
                {
                    int n = RandomAccess.Read(f, span[got..], got);
                    if (n <= 0) { b.Free(); return null; }
                    got += n;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
            var img = Check(b);
            if (img == null) b.Free();
            return img;
        }

        /// <summary>The image of a file's bytes, or null if its frame is out of place (tests feed it damaged files).</summary>
        internal static Image? Check(byte[] bytes)
        {
            var b = new NativeBytes(bytes.Length);
            bytes.CopyTo(b.GetSpan());
            return Check(b);
        }

        static Image? Check(NativeBytes nb)
        {
            var b = nb.GetSpan();
            if (b.Length < IndexAt + 8 || !b[..Magic.Length].SequenceEqual(Magic)) return null;
            if (XxHash3.HashToUInt64(b[..^8]) != BinaryPrimitives.ReadUInt64LittleEndian(b[^8..])) return null;
            int n = BinaryPrimitives.ReadInt32LittleEndian(b[Magic.Length..]);
            if (n < 0 || n > MaxEntries || IndexAt + (long)n * IndexRecord > b.Length - 8) return null;
            var img = new Image(nb, n);
            int prevOff = IndexAt + n * IndexRecord;
            for (int i = 0; i < n; i++)
            {
                int off = img.OffsetAt(i);
                if ((i > 0 && img.StartAt(i) < img.StartAt(i - 1)) || off != prevOff || off > img.entriesEnd) return null;
                prevOff = i + 1 < n ? img.OffsetAt(i + 1) : img.entriesEnd;
                if (prevOff < off) return null;
            }
            return img;
        }
    }

    /// <summary>Bytes in native memory as a Memory&lt;byte&gt; (templates' code slices it); freed only where nothing
    /// can refer to it yet.</summary>
    internal sealed unsafe class NativeBytes : System.Buffers.MemoryManager<byte>
    {
        byte* p;
        public readonly int Length;
        public NativeBytes(int length) { Length = length; p = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(1, length)); }
        public override Span<byte> GetSpan() => new(p, Length);
        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(p + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
        internal void Free() { System.Runtime.InteropServices.NativeMemory.Free(p); p = null; }
    }

    /// <summary>Write the file's bytes to f: every entry in start order, the old file's as they are (raw), the fresh
    /// ones serialized here; nothing as large as the file is allocated (no large object: see Image).</summary>
    static void Serialize(Stream f, Image? old, List<(ulong Key, Entry E)> fresh)
    {
        var order = new List<(uint Start, int Old, int Fresh)>();
        if (old != null) for (int i = 0; i < old.Count; i++) order.Add((old.StartAt(i), i, -1));
        for (int i = 0; i < fresh.Count; i++) order.Add((fresh[i].E.Start, -1, i));
        order.Sort((a, b) => a.Start.CompareTo(b.Start));
        var freshBytes = new byte[fresh.Count][];
        var one = new MemoryStream();
        for (int i = 0; i < fresh.Count; i++)
        {
            one.SetLength(0);
            var bw = new BinaryWriter(one);
            WriteEntry(bw, fresh[i].E);
            bw.Flush();
            freshBytes[i] = one.ToArray();
        }
        var hash = new XxHash3();
        var buf = new byte[1 << 16];
        int used = 0;
        void Put(ReadOnlySpan<byte> x)
        {
            hash.Append(x);
            while (!x.IsEmpty)
            {
                if (used == buf.Length) { f.Write(buf, 0, used); used = 0; }
                int n = Math.Min(x.Length, buf.Length - used);
                x[..n].CopyTo(buf.AsSpan(used));
                used += n; x = x[n..];
            }
        }
        Span<byte> rec = stackalloc byte[IndexRecord];
        Put(Magic);
        BinaryPrimitives.WriteInt32LittleEndian(rec, order.Count);
        Put(rec[..4]);
        long off = IndexAt + (long)order.Count * IndexRecord;
        foreach (var (start, o, fi) in order)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(rec, start);
            BinaryPrimitives.WriteUInt32LittleEndian(rec[4..], checked((uint)off));
            BinaryPrimitives.WriteUInt64LittleEndian(rec[8..], o >= 0 ? old!.KeyAt(o) : fresh[fi].Key);
            Put(rec);
            off += o >= 0 ? old!.Raw(o).Length : freshBytes[fi].Length;
        }
        foreach (var (_, o, fi) in order) Put(o >= 0 ? old!.Raw(o) : freshBytes[fi]);
        BinaryPrimitives.WriteUInt64LittleEndian(rec, hash.GetCurrentHashAsUInt64());
        f.Write(buf, 0, used);
        f.Write(rec[..8]);
    }

    static void WriteEntry(BinaryWriter w, Entry e)
    {
        var t = e.Template;
        w.Write(e.Start);
        w.Write((ushort)e.Bytes.Length); w.Write(e.Bytes.Span);
        w.Write((ulong)t.Features); w.Write(Flags(t)); w.Write(t.MmxCount); w.Write(t.Origin);
        w.Write(t.Code.Length); w.Write(t.Code.Span);
        w.Write(t.Relocs.Length); foreach (int r in t.Relocs) w.Write(r);
        w.Write(t.Sites.Length);
        foreach (var s in t.Sites) { w.Write(s.Off); w.Write(s.Index); w.Write(s.Host); w.Write(s.Fip); w.Write(s.Fop); w.Write(s.Fds); }
        w.Write(t.Links.Length);
        foreach (var l in t.Links) { w.Write(l.CellOff); w.Write(l.LookupOff); w.Write(l.Target); }
        w.Write(t.Thunks.Length);
        foreach (var (target, reg) in t.Thunks) { w.Write(target); w.Write(reg); }
    }

    /// <summary>One entry from its bytes, or null if anything in it is out of place.</summary>
    internal static Entry? ParseEntry(ReadOnlyMemory<byte> m)
    {
        var b = m.Span;
        var r = new Reader(b);
        uint start = r.U32();
        int bl = r.U16();
        if (bl == 0 || bl > DecodeCache.MaxInsns * 15) return null;
        int at = b.Length - r.Left;
        r.Skip(bl);
        var bytes = m.Slice(at, Math.Min(bl, b.Length - at));
        var features = (CpuFeature)r.U64();
        byte fl = r.U8();
        int mmx = r.I32();
        long origin = r.I64();
        int cl = r.I32();
        if (cl <= 0 || cl > 1 << 16 || mmx < 0 || origin < 0 || origin > JitCode.CodeLimit * 2) return null;
        at = b.Length - r.Left;
        r.Skip(cl);
        var code = m.Slice(at, Math.Min(cl, b.Length - at));
        int nr = r.Count(4);
        var relocs = new int[nr];
        for (int k = 0; k < nr; k++) if ((relocs[k] = r.I32()) < 0 || relocs[k] > cl - 4) return null;
        int ns = r.Count(21);
        var sites = new HostSite[ns];
        for (int k = 0; k < ns; k++)
        {
            int off = r.I32(), idx = r.I32();
            bool host = r.U8() != 0;
            uint fip = r.U32(), fop = r.U32(), fds = r.U32();
            if (off < 0 || off >= cl || idx < 0 || idx >= DecodeCache.MaxInsns) return null;
            sites[k] = new HostSite(off, idx, host, fip, fop, fds);
        }
        int nl = r.Count(12);
        var links = new LinkSite[nl];
        for (int k = 0; k < nl; k++)
        {
            int cell = r.I32(), lookup = r.I32();
            uint target = r.U32();
            if (cell < 0 || cell > cl - 8 || lookup < 0 || lookup >= cl) return null;
            links[k] = new LinkSite(cell, lookup, target);
        }
        int nt = r.Count(8);
        var thunks = new (uint, int)[nt];
        for (int k = 0; k < nt; k++)
        {
            uint target = r.U32();
            int reg = r.I32();
            if (reg < 0 || reg > 7) return null;
            thunks[k] = (target, reg);
        }
        if (r.Failed || !r.AtEnd) return null;
        return new Entry
        {
            Start = start, Bytes = bytes,
            Template = new JitCode.Template
            {
                Features = features, Hoist = (fl & 1) != 0, LowCode = (fl & 2) != 0, Elide = (fl & 4) != 0, ElideWrites = (fl & 8) != 0,
                X87 = (fl & 16) != 0, Simd = (fl & 32) != 0, Mmx = (fl & 64) != 0, PassTested = (fl & 128) != 0,
                MmxCount = mmx, Origin = origin, Code = code, Relocs = relocs, Sites = sites, Links = links, Thunks = thunks,
                Stored = true,
            },
        };
    }

    /// <summary>Reads little-endian fields; past the end it returns zeros and remembers (Failed).</summary>
    ref struct Reader
    {
        ReadOnlySpan<byte> s;
        public bool Failed;
        public Reader(ReadOnlySpan<byte> s) { this.s = s; Failed = false; }
        public bool AtEnd => s.IsEmpty;
        ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || n > s.Length) { Failed = true; s = default; return new byte[Math.Max(0, Math.Min(n, 8))]; }
            var r = s[..n]; s = s[n..]; return r;
        }
        public byte U8() => Take(1)[0];
        public int U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        public void Skip(int n) => Take(n);
        public int Left => s.Length;
        /// <summary>A count of records of size each that the rest can hold (else Failed, 0).</summary>
        public int Count(int size)
        {
            int n = I32();
            if (n < 0 || (long)n * size > s.Length) { Failed = true; s = default; return 0; }
            return n;
        }
    }
}
