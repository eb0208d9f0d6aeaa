using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Compat32.Cpu;

namespace Compat32.Lab;

/// <summary>The lab's table (text), the same data as JSON, and a self-contained HTML report with SVG charts.</summary>
public static class LabReport
{
    static string Mark(Verdict v) => v switch { Verdict.Pass => "ok", Verdict.Fail => "FAIL", _ => "n/a" };

    static string Exits(Costs c) =>
        string.Join("+", c.Exits.Where(kv => kv.Value > 0.001).Select(kv => $"{kv.Value.ToString("0.##", CultureInfo.InvariantCulture)} {kv.Key.ToUpperInvariant()}"));
    static string Entries(Costs c) =>
        string.Join("+", c.Entries.Where(kv => kv.Value > 0.001).Select(kv => $"{kv.Value.ToString("0.##", CultureInfo.InvariantCulture)} {kv.Key.ToUpperInvariant()}"));

    public static string Table(IReadOnlyList<LabRow> rows)
    {
        var sb = new StringBuilder();
        var ids = Battery.Checks.Select(c => c.Id).ToArray();
        var head = new List<string> { "design", "cpu", "vdso insns", "entry", "exit", "loads", "cycles", "Δcycles" };
        head.AddRange(ids);
        bool anySelf = rows.Any(r => r.Selftests.Count > 0);
        if (anySelf) head.Add("selftests");
        var lines = rows.Select(r =>
        {
            var l = new List<string> { r.Design, r.Model, r.Costs.VdsoInstructions.ToString("0.##", CultureInfo.InvariantCulture),
                Entries(r.Costs), Exits(r.Costs), r.Costs.UserFetches.ToString(CultureInfo.InvariantCulture),
                r.Costs.Cycles.Cell(signed: false), r.Costs.Delta.Cell(signed: true) };
            l.AddRange(ids.Select(id => Mark(r.Check(id).Verdict)));
            if (anySelf) l.Add($"{r.Selftests.Count(s => s.Verdict == "ok")}/{r.Selftests.Count}");
            return l;
        }).ToList();
        var w = head.Select((h, i) => Math.Max(h.Length, lines.Count == 0 ? 0 : lines.Max(l => l[i].Length))).ToArray();
        sb.AppendLine(string.Join("  ", head.Select((h, i) => h.PadRight(w[i]))).TrimEnd());
        sb.AppendLine(string.Join("  ", w.Select(x => new string('-', x))));
        foreach (var l in lines) sb.AppendLine(string.Join("  ", l.Select((c, i) => c.PadRight(w[i]))).TrimEnd());
        sb.AppendLine();
        sb.AppendLine("What each check saw (failures and notable results):");
        foreach (var r in rows)
            foreach (var c in r.Checks.Where(c => c.Verdict == Verdict.Fail || c.Id is "tracer" or "restart" or "restart-block" or "clone" or "step"))
                sb.AppendLine($"  {r.Design,-14} {r.Model,-6} {c.Id,-13} {c.Seen}");
        if (anySelf)
            foreach (var r in rows)
                foreach (var s in r.Selftests.Where(s => s.Verdict != "ok"))
                    sb.AppendLine($"  {r.Design,-14} {r.Model,-6} selftest      {s.Name}: {s.Verdict}");
        sb.AppendLine();
        sb.AppendLine("Columns: vdso insns = guest instructions from the call to the return, per getppid; entry/exit = kernel entries");
        sb.AppendLine("and exits per getppid; loads = user-memory loads by the entry; cycles = the entry and exit of one getppid priced");
        sb.AppendLine("by the model's cost table; Δcycles = against linux-4.3 on the same model (transitions and kernel-side figures).");
        sb.AppendLine("Both come from the published figures named in brackets only; ? = a part with no published figure (why, below).");
        sb.AppendLine("Cost tables (one per model, the generation the figures were measured on):");
        foreach (var m in rows.Select(r => r.Model).Distinct())
        {
            var t = CostModel.TableFor(CpuModel.ByName(m) ?? CpuModel.IntelModel);
            string rates = t.Rates.Length == 0 ? "no lines" : string.Join(", ", t.Rates.Select(x => $"{RateName(x)} {x.Figure.ValueText} [{x.Figure.Id}]"));
            sb.AppendLine($"  {m,-6} {t.Generation}: {rates}; else ?: {t.Gap}");
        }
        sb.AppendLine("Figures:");
        foreach (var f in CostModel.Figures) sb.AppendLine($"  {f.Id}: {f.What}: {f.ValueText} ({f.Where}); {f.Source}. Use: {f.Use}");
        var unknown = rows.SelectMany(r => new[] { ("cycles", r, r.Costs.Cycles), ("Δcycles", r, r.Costs.Delta) })
            .Where(x => x.Item3.Cycles == null).GroupBy(x => x.Item1 + ": " + x.Item3.Note).ToList();
        if (unknown.Count > 0) sb.AppendLine("Why '?':");
        foreach (var g in unknown)
            sb.AppendLine($"  {string.Join(", ", g.Select(x => x.Item2.Design + "/" + x.Item2.Model))}: {g.Key}");
        return sb.ToString();
    }

    static string RateName(Rate r) => string.Join("+", new[] { r.Entry?.ToString().ToUpperInvariant(), r.Exit?.ToString().ToUpperInvariant() }.Where(x => x != null));

    static void WriteModelled(Utf8JsonWriter w, string prefix, Modelled m)
    {
        if (m.Cycles is double c) w.WriteNumber(prefix, c); else w.WriteNull(prefix);
        w.WriteStartArray(prefix + "Keys"); foreach (var k in m.Keys) w.WriteStringValue(k); w.WriteEndArray();
        w.WriteString(prefix + "Note", m.Note);
    }

    /// <summary>The same rows as JSON (written by hand: the AOT build has no reflection-based serializer).</summary>
    public static string Json(IReadOnlyList<LabRow> rows)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("checks");
            foreach (var (id, title) in Battery.Checks) { w.WriteStartObject(); w.WriteString("id", id); w.WriteString("title", title); w.WriteEndObject(); }
            w.WriteEndArray();
            w.WriteStartArray("figures");
            foreach (var f in CostModel.Figures)
            {
                w.WriteStartObject(); w.WriteString("id", f.Id); w.WriteString("kind", f.Kind.ToString().ToLowerInvariant());
                w.WriteString("what", f.What); w.WriteNumber("value", f.Value); w.WriteString("unit", f.Unit);
                w.WriteString("where", f.Where); w.WriteString("source", f.Source); w.WriteString("use", f.Use); w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("costTables");
            foreach (var m in rows.Select(r => r.Model).Distinct())
            {
                var t = CostModel.TableFor(CpuModel.ByName(m) ?? CpuModel.IntelModel);
                w.WriteStartObject(); w.WriteString("cpu", m); w.WriteString("generation", t.Generation);
                w.WriteStartArray("lines");
                foreach (var x in t.Rates)
                {
                    w.WriteStartObject();
                    if (x.Entry is { } e) w.WriteString("entry", e.ToString()); else w.WriteNull("entry");
                    if (x.Exit is { } ex) w.WriteString("exit", ex.ToString()); else w.WriteNull("exit");
                    w.WriteNumber("cycles", x.Figure.Value); w.WriteString("figure", x.Figure.Id); w.WriteEndObject();
                }
                w.WriteEndArray(); w.WriteString("gap", t.Gap); w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("designs");
            foreach (var d in Designs.All) { w.WriteStartObject(); w.WriteString("name", d.Name); w.WriteString("title", d.Title); w.WriteString("source", d.Source); w.WriteEndObject(); }
            w.WriteEndArray();
            w.WriteStartArray("rows");
            foreach (var r in rows)
            {
                w.WriteStartObject();
                w.WriteString("design", r.Design); w.WriteString("cpu", r.Model);
                w.WriteStartObject("costs");
                w.WriteNumber("vdsoInstructions", r.Costs.VdsoInstructions);
                w.WriteStartObject("entries"); foreach (var kv in r.Costs.Entries) w.WriteNumber(kv.Key, kv.Value); w.WriteEndObject();
                w.WriteStartObject("exits"); foreach (var kv in r.Costs.Exits) w.WriteNumber(kv.Key, kv.Value); w.WriteEndObject();
                w.WriteStartObject("slowExitReasons"); foreach (var kv in r.Costs.SlowExitReasons) w.WriteNumber(kv.Key, kv.Value); w.WriteEndObject();
                w.WriteNumber("userLoads", r.Costs.UserFetches);
                WriteModelled(w, "cycles", r.Costs.Cycles);
                WriteModelled(w, "deltaCycles", r.Costs.Delta);
                w.WriteEndObject();
                w.WriteStartArray("checks");
                foreach (var c2 in r.Checks)
                {
                    w.WriteStartObject(); w.WriteString("id", c2.Id); w.WriteString("verdict", c2.Verdict.ToString().ToLowerInvariant());
                    w.WriteString("seen", c2.Seen); w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("selftests");
                foreach (var st in r.Selftests) { w.WriteStartObject(); w.WriteString("name", st.Name); w.WriteString("verdict", st.Verdict); w.WriteEndObject(); }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    static readonly string[] colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948"];
    static string E(string s) => WebUtility.HtmlEncode(s);
    static string Num(Modelled m) => m.Cycles is double c ? c.ToString("0.##", CultureInfo.InvariantCulture) : "?";

    /// <summary>A grouped bar chart: a group per design, a bar per model, each bar carrying its value in data-*
    /// attributes. A row whose value has no figure gets a '?' in its bar's place (never a zero-height bar), the
    /// reason in its tooltip.</summary>
    static void BarChart(StringBuilder sb, string id, string cls, IReadOnlyList<LabRow> rows, List<string> models, List<string> designs,
        Func<LabRow, double?> value, Func<LabRow, string> attrs, Func<LabRow, string> tip)
    {
        double max = Math.Max(1, rows.Max(r => value(r) ?? 0));
        int bw = 14, gap = 10, left = 120, top = 20, h = 200;
        int groupW = models.Count * bw + gap;
        int width = left + designs.Count * groupW + 20;
        sb.Append($"<svg id=\"{id}\" width=\"{width}\" height=\"{h + top + 90}\" xmlns=\"http://www.w3.org/2000/svg\">");
        for (int t = 0; t <= 4; t++)
        {
            double v = max * t / 4; int y = top + h - (int)(h * t / 4.0);
            sb.Append($"<line x1=\"{left - 4}\" y1=\"{y}\" x2=\"{width}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{left - 8}\" y=\"{y + 4}\" font-size=\"11\" text-anchor=\"end\">{v:0.#}</text>");
        }
        for (int di = 0; di < designs.Count; di++)
        {
            int gx = left + di * groupW;
            for (int mi = 0; mi < models.Count; mi++)
            {
                var r = rows.FirstOrDefault(x => x.Design == designs[di] && x.Model == models[mi]);
                if (r == null) continue;
                string where = $"data-design=\"{E(r.Design)}\" data-cpu=\"{E(r.Model)}\"";
                if (value(r) is double v)
                {
                    int bh = (int)Math.Round(h * v / max);
                    sb.Append($"<rect class=\"{cls}\" {where} data-value=\"{v.ToString("0.##", CultureInfo.InvariantCulture)}\"{attrs(r)} x=\"{gx + mi * bw}\" y=\"{top + h - bh}\" width=\"{bw - 2}\" height=\"{bh}\" fill=\"{colors[mi % colors.Length]}\"><title>{tip(r)}</title></rect>");
                }
                else
                    sb.Append($"<text class=\"{cls}-unknown\" {where} x=\"{gx + mi * bw + 2}\" y=\"{top + h - 4}\" font-size=\"11\" fill=\"{colors[mi % colors.Length]}\">?<title>{tip(r)}</title></text>");
            }
            sb.Append($"<text x=\"{gx + groupW / 2 - gap / 2}\" y=\"{top + h + 14}\" font-size=\"11\" text-anchor=\"end\" transform=\"rotate(-35 {gx + groupW / 2 - gap / 2} {top + h + 14})\">{E(designs[di])}</text>");
        }
        sb.Append("</svg>");
    }

    /// <summary>A self-contained page: a bar chart of kernel transitions and vDSO instructions per syscall by
    /// design and model, the pass/fail matrix, and every check's observation. Every number comes from the rows;
    /// each bar and cell carries data-* attributes with the JSON's values so a test can compare them.</summary>
    public static string Html(IReadOnlyList<LabRow> rows)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>compat32 lab</title><style>")
          .Append("body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}")
          .Append("table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:12px}")
          .Append("td.pass{background:#cdeccd}td.fail{background:#f5c2c2}td.na{background:#eee;color:#777}")
          .Append(".legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}")
          .Append("</style></head><body><h1>compat32 lab: the 2015 entry designs, side by side</h1>")
          .Append("<p>Each design is a kernel + vDSO configuration of the same emulated machine; each row ran the same programs. ")
          .Append("Costs are counted, not timed: instructions from <code>call</code> to return and kernel transitions per getppid.</p>");
        // Chart 1: instructions per syscall.
        var models = rows.Select(r => r.Model).Distinct().ToList();
        var designs = rows.Select(r => r.Design).Distinct().ToList();
        sb.Append("<h2>Guest instructions per syscall (call to return), by design and CPU model</h2><div class=legend>");
        for (int i = 0; i < models.Count; i++) sb.Append($"<span><i class=sw style=\"background:{colors[i % colors.Length]}\"></i>{E(models[i])}</span>");
        sb.Append("</div>");
        BarChart(sb, "chart-insns", "bar", rows, models, designs, r => r.Costs.VdsoInstructions, _ => "",
            r => $"{E(r.Design)} / {E(r.Model)}: {r.Costs.VdsoInstructions.ToString("0.##", CultureInfo.InvariantCulture)}");
        // Chart 2: modelled cycles per syscall.
        sb.Append("<h2>Modelled cycles per syscall (entry + exit, from the cited figures only), by design and CPU model</h2>")
          .Append("<p>Compare designs within one colour: each model's cost table comes from another generation and measures another thing ")
          .Append("(see Cost tables below: instruction latencies for AMD K8, whole getppid round trips for the Pentium 4). ")
          .Append("A <b>?</b> stands where a transition has no published figure; its tooltip says which.</p>");
        BarChart(sb, "chart-cycles", "cbar", rows, models, designs, r => r.Costs.Cycles.Cycles,
            r => $" data-keys=\"{E(string.Join(",", r.Costs.Cycles.Keys))}\"",
            r => $"{E(r.Design)} / {E(r.Model)}: {E(r.Costs.Cycles.Cell(false))}. {E(r.Costs.Cycles.Note)}");
        sb.Append("<h2>Entries, exits and modelled cycles per syscall</h2><table id=\"costs\"><tr><th>design</th><th>cpu</th><th>entry</th><th>exit</th><th>slow-exit reasons</th><th>user loads</th><th>modelled cycles</th><th>Δcycles vs linux-4.3</th><th>how</th></tr>");
        foreach (var r in rows)
            sb.Append($"<tr><td>{E(r.Design)}</td><td>{E(r.Model)}</td><td>{E(Entries(r.Costs))}</td><td>{E(Exits(r.Costs))}</td><td>{E(string.Join(", ", r.Costs.SlowExitReasons.Select(kv => kv.Key + "×" + kv.Value)))}</td><td>{r.Costs.UserFetches}</td>")
              .Append($"<td class=\"cyc\" data-design=\"{E(r.Design)}\" data-cpu=\"{E(r.Model)}\" data-cycles=\"{Num(r.Costs.Cycles)}\" data-keys=\"{E(string.Join(",", r.Costs.Cycles.Keys))}\">{E(r.Costs.Cycles.Cell(false))}</td>")
              .Append($"<td class=\"dcyc\" data-delta=\"{Num(r.Costs.Delta)}\" data-keys=\"{E(string.Join(",", r.Costs.Delta.Keys))}\">{E(r.Costs.Delta.Cell(true))}</td>")
              .Append($"<td class=\"how\">{E(r.Costs.Cycles.Note)}<br>Δ: {E(r.Costs.Delta.Note)}</td></tr>");
        sb.Append("</table>");
        // Pass/fail matrix.
        sb.Append("<h2>What each design breaks</h2><table id=\"matrix\"><tr><th>design</th><th>cpu</th>");
        foreach (var (id, title) in Battery.Checks) sb.Append($"<th title=\"{E(title)}\">{E(id)}</th>");
        sb.Append("</tr>");
        foreach (var r in rows)
        {
            sb.Append($"<tr><td>{E(r.Design)}</td><td>{E(r.Model)}</td>");
            foreach (var c in r.Checks)
            {
                string cls = c.Verdict switch { Verdict.Pass => "pass", Verdict.Fail => "fail", _ => "na" };
                sb.Append($"<td class=\"{cls}\" data-check=\"{E(c.Id)}\" title=\"{E(c.Seen)}\">{Mark(c.Verdict)}</td>");
            }
            sb.Append("</tr>");
        }
        sb.Append("</table><h2>Observations</h2><table><tr><th>design</th><th>cpu</th><th>check</th><th>seen</th></tr>");
        foreach (var r in rows)
            foreach (var c in r.Checks)
                sb.Append($"<tr><td>{E(r.Design)}</td><td>{E(r.Model)}</td><td>{E(c.Id)}</td><td>{E(c.Seen)}</td></tr>");
        sb.Append("</table><h2>Designs</h2><ul>");
        foreach (var d in Designs.All) sb.Append($"<li><b>{E(d.Name)}</b>: {E(d.Title)}. <i>{E(d.Source)}</i></li>");
        sb.Append("</ul><h2>Cost tables</h2><table id=\"tables\"><tr><th>cpu</th><th>figures measured on</th><th>lines</th><th>no figure for the rest, because</th></tr>");
        foreach (var m in models)
        {
            var t = CostModel.TableFor(CpuModel.ByName(m) ?? CpuModel.IntelModel);
            sb.Append($"<tr><td>{E(m)}</td><td>{E(t.Generation)}</td><td>{E(t.Rates.Length == 0 ? "none" : string.Join(", ", t.Rates.Select(x => $"{RateName(x)} = {x.Figure.ValueText} [{x.Figure.Id}]")))}</td><td>{E(t.Gap)}</td></tr>");
        }
        sb.Append("</table><h2>Cycle figures</h2><table id=\"figures\"><tr><th>key</th><th>value</th><th>what it measures</th><th>CPU</th><th>source</th><th>how the lab uses it</th></tr>");
        foreach (var f in CostModel.Figures)
            sb.Append($"<tr data-figure=\"{E(f.Id)}\"><td>{E(f.Id)}</td><td>{E(f.ValueText)}</td><td>{E(f.Kind.ToString().ToLowerInvariant())}: {E(f.What)}</td><td>{E(f.Where)}</td><td>{E(f.Source)}</td><td>{E(f.Use)}</td></tr>");
        sb.Append("</table></body></html>");
        return sb.ToString();
    }
}
