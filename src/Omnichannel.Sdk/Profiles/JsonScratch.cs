using System.Buffers;
using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>A thread's writer and buffer for one value written as the serializer would with given options (kept JSON pieces).</summary>
/// <remarks>
/// One per thread: this runs inside the document's own serialisation, where the serializer's cached writer is taken, so
/// SerializeToUtf8Bytes would make a new writer, buffer and stack for every run. Taken out while in use, so a nested call
/// (never expected) gets its own.
/// </remarks>
internal sealed class JsonScratch(JsonSerializerOptions options)
{
    [ThreadStatic]
    private static JsonScratch? t_scratch;

    public JsonSerializerOptions Options { get; } = options;

    public ArrayBufferWriter<byte> Buffer { get; } = new(512);

    // As the serializer would write: the same encoder, indentation and depth limit (0 is its default of 64, not the writer's 1000).
    public Utf8JsonWriter Writer { get; } = new(Stream.Null, new JsonWriterOptions
    {
        Encoder = options.Encoder, Indented = options.WriteIndented, IndentCharacter = options.IndentCharacter, IndentSize = options.IndentSize,
        NewLine = options.NewLine, MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth, SkipValidation = true,
    });

    public static JsonScratch Take(JsonSerializerOptions options)
    {
        // Only a writer made for these options writes as they would (encoder, indentation, depth).
        var scratch = t_scratch is { } kept && ReferenceEquals(kept.Options, options) ? kept : new JsonScratch(options);
        t_scratch = null;
        scratch.Buffer.ResetWrittenCount();
        scratch.Writer.Reset(scratch.Buffer);
        return scratch;
    }

    public void Return()
    {
        if (Buffer.Capacity <= 64 * 1024)
        {
            t_scratch = this; // an unusually large run's buffer is not kept for the thread's lifetime
        }
    }
}
