using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace PaxosActors.Node.Tests;

/// <summary>An HTTP/1.1 response as it came off the wire.</summary>
public sealed record RawResponse(int Status, string StatusLine, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
{
    public string? Header(string name) =>
        Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The body is a JSON object with a string "error".</summary>
    public bool IsJsonError()
    {
        try
        {
            using var doc = JsonDocument.Parse(Body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                   && doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>The server's answer did not parse as HTTP/1.x.</summary>
public sealed class InvalidHttpResponseException(string message) : Exception(message);

/// <summary>
/// Sends exactly the bytes given over a fresh TCP connection and parses one HTTP/1.x response, strictly:
/// a well-formed status line and headers, and a body framed by Content-Length, chunked encoding or the close.
/// </summary>
public static class RawHttp
{
    /// <param name="halfClose">after the request, shut down the sending side (the server sees the body end early)</param>
    /// <returns>the response, or null if the server closed the connection without a byte</returns>
    public static async Task<RawResponse?> SendAsync(int port, byte[] request, TimeSpan timeout, bool halfClose = false,
        bool head = false)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            // Write while reading: the server may answer (413) and close before it read everything.
            var writing = Task.Run(async () =>
            {
                try
                {
                    await socket.SendAsync(request, SocketFlags.None, cts.Token);
                    if (halfClose) socket.Shutdown(SocketShutdown.Send);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                }
            });
            var reader = new Reader(socket, cts.Token);
            try
            {
                while (true)
                {
                    var response = await ReadResponseAsync(reader, head);
                    if (response is null || response.Status >= 200 || response.Status == 101) return response;
                    // 1xx interim (100 Continue): the final answer follows
                }
            }
            finally
            {
                await cts.CancelAsync();
                socket.Close(0);
                await writing;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"no complete response within {timeout}");
        }
    }

    private static async Task<RawResponse?> ReadResponseAsync(Reader reader, bool head)
    {
        string? statusLine = await reader.ReadLineAsync(allowEof: true);
        if (statusLine is null) return null;
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || (parts[0] != "HTTP/1.1" && parts[0] != "HTTP/1.0") || parts[1].Length != 3
            || !int.TryParse(parts[1], out int status) || status < 100)
            throw new InvalidHttpResponseException($"bad status line: {statusLine}");
        var headers = new List<(string, string)>();
        while (true)
        {
            string line = await reader.ReadLineAsync(allowEof: false) ?? "";
            if (line.Length == 0) break;
            int colon = line.IndexOf(':');
            if (colon <= 0 || line[..colon].Any(c => c <= ' ' || c >= 127))
                throw new InvalidHttpResponseException($"bad header line: {line}");
            headers.Add((line[..colon], line[(colon + 1)..].Trim()));
        }
        var response = new RawResponse(status, statusLine, headers, []);
        if (head || status < 200 || status == 204 || status == 304) return response;
        if (response.Header("Transfer-Encoding") is { } te)
        {
            if (!te.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                throw new InvalidHttpResponseException($"unexpected Transfer-Encoding: {te}");
            var body = new MemoryStream();
            while (true)
            {
                string sizeLine = await reader.ReadLineAsync(allowEof: false) ?? "";
                int semi = sizeLine.IndexOf(';');
                if (!int.TryParse(semi < 0 ? sizeLine : sizeLine[..semi], System.Globalization.NumberStyles.HexNumber, null, out int size) || size < 0)
                    throw new InvalidHttpResponseException($"bad chunk size: {sizeLine}");
                if (size == 0)
                {
                    while ((await reader.ReadLineAsync(allowEof: false) ?? "").Length > 0)
                    {
                    }
                    break;
                }
                body.Write(await reader.ReadExactlyAsync(size));
                if ((await reader.ReadLineAsync(allowEof: false) ?? "x").Length != 0)
                    throw new InvalidHttpResponseException("chunk not followed by CRLF");
            }
            return response with { Body = body.ToArray() };
        }
        if (response.Header("Content-Length") is { } cl)
        {
            if (!int.TryParse(cl, out int length) || length < 0)
                throw new InvalidHttpResponseException($"bad Content-Length: {cl}");
            return response with { Body = await reader.ReadExactlyAsync(length) };
        }
        return response with { Body = await reader.ReadToEndAsync() };
    }

    private sealed class Reader(Socket socket, CancellationToken token)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start, _end;
        private bool _eof;

        private async Task<bool> FillAsync()
        {
            if (_eof) return false;
            if (_start == _end) _start = _end = 0;
            if (_end == _buffer.Length)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int n;
            try
            {
                n = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, token);
            }
            catch (SocketException)
            {
                n = 0; // reset by the server: the same as a close, for a reader
            }
            if (n == 0)
            {
                _eof = true;
                return false;
            }
            _end += n;
            return true;
        }

        public async Task<string?> ReadLineAsync(bool allowEof)
        {
            var line = new List<byte>();
            while (true)
            {
                for (; _start < _end; _start++)
                {
                    byte b = _buffer[_start];
                    if (b == '\n')
                    {
                        _start++;
                        if (line.Count == 0 || line[^1] != '\r') throw new InvalidHttpResponseException("bare LF in the response head");
                        line.RemoveAt(line.Count - 1);
                        return Encoding.Latin1.GetString(line.ToArray());
                    }
                    line.Add(b);
                    if (line.Count > 64 * 1024) throw new InvalidHttpResponseException("response head line too long");
                }
                if (!await FillAsync())
                {
                    if (allowEof && line.Count == 0) return null;
                    throw new InvalidHttpResponseException("connection closed inside the response head");
                }
            }
        }

        public async Task<byte[]> ReadExactlyAsync(int count)
        {
            var result = new byte[count];
            int done = 0;
            while (done < count)
            {
                if (_start == _end && !await FillAsync())
                    throw new InvalidHttpResponseException($"connection closed after {done} of {count} body bytes");
                int n = Math.Min(count - done, _end - _start);
                Array.Copy(_buffer, _start, result, done, n);
                _start += n;
                done += n;
            }
            return result;
        }

        public async Task<byte[]> ReadToEndAsync()
        {
            var body = new MemoryStream();
            while (true)
            {
                body.Write(_buffer, _start, _end - _start);
                _start = _end;
                if (!await FillAsync()) return body.ToArray();
            }
        }
    }
}
