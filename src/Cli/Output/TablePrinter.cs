namespace Federation.Cli.Output;

/// <summary>Prints left-aligned columns separated by three spaces, kubectl style, with no trailing blanks.</summary>
internal static class TablePrinter
{
    private const string Gap = "   ";

    public static void Write(TextWriter writer, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var row in rows)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                widths[i] = Math.Max(widths[i], Cell(row, i).Length);
            }
        }
        WriteRow(writer, headers, widths);
        foreach (var row in rows)
        {
            WriteRow(writer, row, widths);
        }
    }

    private static void WriteRow(TextWriter writer, IReadOnlyList<string> row, int[] widths)
    {
        var cells = widths.Select((w, i) => i == widths.Length - 1 ? Cell(row, i) : Cell(row, i).PadRight(w));
        writer.WriteLine(string.Join(Gap, cells).TrimEnd());
    }

    private static string Cell(IReadOnlyList<string> row, int index) => index < row.Count ? row[index] : "";
}
