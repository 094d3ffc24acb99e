using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.VisualBasic.FileIO;
using Omnichannel.Sdk;

namespace RetailReplay;

/// <summary>One invoice of the UCI Online Retail data set: its lines grouped by <c>InvoiceNo</c>.</summary>
public sealed record Invoice(string InvoiceNo, DateTimeOffset Time, string? CustomerId, string Country, IReadOnlyList<InvoiceLine> Lines)
{
    /// <summary>A return (<c>InvoiceNo</c> starting with <c>C</c>).</summary>
    public bool IsReturn => InvoiceNo.StartsWith('C');

    /// <summary>An adjustment (<c>InvoiceNo</c> starting with <c>A</c>): not a customer event.</summary>
    public bool IsAdjustment => InvoiceNo.StartsWith('A');

    /// <summary>
    /// An invoice that is no return and charges nothing (<see cref="Total"/> 0 or less): stock written off ("damaged",
    /// "check", "thrown away": negative quantities at zero prices, nearly all without a customer) or goods given away. Not
    /// a sale: 2,102 of the year's invoices, which as orders were 657 of the 3,864 "Active" people on 2011-12-10 (audit U96).
    /// </summary>
    public bool ChargesNothing => !IsReturn && !IsAdjustment && Total <= 0;

    /// <summary>Σ Quantity × UnitPrice, rounded to 2 decimals (half away from zero); the absolute value for returns.</summary>
    public decimal Total => Math.Round(Lines.Sum(l => l.Quantity * l.UnitPrice), 2, MidpointRounding.AwayFromZero) is var t && IsReturn ? Math.Abs(t) : t;
}

/// <summary>One invoice line.</summary>
public sealed record InvoiceLine(string StockCode, decimal Quantity, decimal UnitPrice);

/// <summary>Reads the CSV and maps invoices to <see cref="CustomerEvent"/>s, exactly as the README of the sample says.</summary>
public static class OnlineRetail
{
    /// <summary>Reads every invoice, in order of time (ties in file order). Handles <c>.gz</c>.</summary>
    public static IReadOnlyList<Invoice> ReadInvoices(string path)
    {
        using var file = File.OpenRead(path);
        using Stream input = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var parser = new TextFieldParser(input) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true };
        parser.SetDelimiters(",");
        var header = parser.ReadFields() ?? throw new InvalidDataException($"{path}: the file is empty.");
        int Col(string name) => Array.IndexOf(header, name) is >= 0 and var i ? i : throw new InvalidDataException($"{path}: no column '{name}'.");
        int invoiceNo = Col("InvoiceNo"), stock = Col("StockCode"), qty = Col("Quantity"), date = Col("InvoiceDate"),
            price = Col("UnitPrice"), customer = Col("CustomerID"), country = Col("Country");

        var order = new List<string>();
        var byInvoice = new Dictionary<string, (DateTimeOffset Time, string? Customer, string Country, List<InvoiceLine> Lines)>(StringComparer.Ordinal);
        var row = 0;
        while (ReadRow(parser, path) is { } f)
        {
            row++;
            DateTimeOffset time;
            InvoiceLine line;
            try
            {
                time = new DateTimeOffset(DateTime.ParseExact(f[date], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), TimeSpan.Zero);
                line = new InvoiceLine(f[stock], decimal.Parse(f[qty], CultureInfo.InvariantCulture), decimal.Parse(f[price], CultureInfo.InvariantCulture));
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or IndexOutOfRangeException)
            {
                // The row's number, never its values (a customer id): enough to find it in the file.
                throw new InvalidDataException($"{path}: row {row} after the header cannot be read (InvoiceDate as yyyy-MM-dd HH:mm:ss, Quantity and UnitPrice as numbers, every column present): {ex.GetType().Name}.", ex);
            }

            if (byInvoice.TryGetValue(f[invoiceNo], out var inv))
            {
                inv.Lines.Add(line);
                if (time < inv.Time)
                {
                    byInvoice[f[invoiceNo]] = inv with { Time = time };
                }
            }
            else
            {
                order.Add(f[invoiceNo]);
                var id = f[customer].Trim();
                if (id.EndsWith(".0", StringComparison.Ordinal))
                {
                    id = id[..^2];
                }

                byInvoice[f[invoiceNo]] = (time, id.Length == 0 ? null : id, f[country], [line]);
            }
        }

        if (order.Count == 0)
        {
            throw new InvalidDataException($"{path}: the file has a header and no rows.");
        }

        return [.. order
            .Select(no => byInvoice[no] is var i ? new Invoice(no, i.Time, i.Customer, i.Country, i.Lines) : null!)
            .OrderBy(i => i.Time)];
    }

    /// <summary>
    /// The event an invoice becomes, or <see langword="null"/> for adjustments and invoices that charge nothing (not a
    /// sale, see <see cref="Invoice.ChargesNothing"/>).
    /// </summary>
    public static CustomerEvent? ToEvent(Invoice invoice)
    {
        if (invoice.IsAdjustment || invoice.ChargesNothing)
        {
            return null;
        }

        return new CustomerEvent
        {
            Id = "invoice-" + invoice.InvoiceNo,
            Type = invoice.IsReturn ? EventTypes.OrderReturned : EventTypes.OrderPlaced,
            Timestamp = invoice.Time,
            Channel = ChannelNames.Web,
            Identifiers = [invoice.CustomerId is { } c ? Identifier.CustomerId(c) : Identifier.AnonymousId("guest-" + invoice.InvoiceNo)],
            Properties = JsonSerializer.SerializeToElement(new
            {
                order_id = invoice.InvoiceNo,
                total = invoice.Total,
                currency = "GBP",
                items = invoice.Lines.Count,
                quantity = invoice.Lines.Sum(l => l.Quantity),
                products = invoice.Lines.Select(l => l.StockCode).ToArray(),
            }),
            Traits = JsonSerializer.SerializeToElement(new { country = invoice.Country }),
        };
    }

    private static string[]? ReadRow(TextFieldParser parser, string path)
    {
        try
        {
            return parser.ReadFields();
        }
        catch (MalformedLineException ex)
        {
            throw new InvalidDataException($"{path}: line {ex.LineNumber} is not a CSV row (an unclosed quote?).", ex);
        }
    }
}
