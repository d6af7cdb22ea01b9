using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using PaxosActors.Security;
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

/// <summary>Where <see cref="RawHttp"/> connects: a loopback port, in the clear, or over TLS trusting only <see cref="Ca"/>
/// (and checking no host name: the test CA is the only trust there is). A port converts to a plain target.</summary>
public sealed record RawHttpTarget(int Port, X509Certificate2? Ca = null)
{
    public static implicit operator RawHttpTarget(int port) => new(port);

    /// <summary>A fresh connection: its stream (TLS set up when <see cref="Ca"/> is given), and how to end the sending side
    /// while still reading (TLS: close_notify, then the TCP half-close).</summary>
    public async Task<(Stream Stream, Func<Task> HalfClose)> ConnectAsync(CancellationToken token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, LingerState = new LingerOption(true, 0) };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), token);
            var network = new NetworkStream(socket, ownsSocket: true);
            if (Ca is null) return (network, () => Task.Run(() => socket.Shutdown(SocketShutdown.Send)));
            var tls = new SslStream(network);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                RemoteCertificateValidationCallback = TlsSettings.TrustOnly(Ca),
            }, token);
            return (tls, async () =>
            {
                try
                {
                    await tls.ShutdownAsync();
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    // OpenSSL refuses a close_notify in some states ("shutdown while in init", seen when the server has
                    // already answered and closed); the TCP half-close below ends the request all the same.
                }
                socket.Shutdown(SocketShutdown.Send);
            });
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>
/// Sends exactly the bytes given over a fresh connection (plain or TLS, <see cref="RawHttpTarget"/>) and parses one
/// HTTP/1.x response, strictly: a well-formed status line and headers, and a body framed by Content-Length, chunked
/// encoding or the close.
/// </summary>
public static class RawHttp
{
    /// <param name="halfClose">after the request, shut down the sending side (the server sees the body end early)</param>
    /// <returns>the response, or null if the server closed the connection without a byte</returns>
    /// <exception cref="TimeoutException">no complete response (TLS handshake included) within <paramref name="timeout"/></exception>
    public static async Task<RawResponse?> SendAsync(RawHttpTarget target, byte[] request, TimeSpan timeout, bool halfClose = false,
        bool head = false)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var (stream, shutdownSend) = await target.ConnectAsync(cts.Token);
            await using (stream)
                return await SendAsync(stream, request, halfClose ? shutdownSend : null, head, cts);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"no complete response within {timeout}");
        }
    }

    /// <summary>The exchange on a connected <paramref name="stream"/>, which the caller disposes; <paramref name="cts"/> bounds
    /// it and is cancelled when it ends.</summary>
    /// <param name="halfClose">called after the request is written, if given</param>
    public static async Task<RawResponse?> SendAsync(Stream stream, byte[] request, Func<Task>? halfClose, bool head,
        CancellationTokenSource cts)
    {
        // Write while reading: the server may answer (413) and close before it read everything.
        var writing = Task.Run(async () =>
        {
            try
            {
                await stream.WriteAsync(request, cts.Token);
                if (halfClose is not null) await halfClose();
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        });
        var reader = new Reader(stream, cts.Token);
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
            stream.Close(); // abortive (linger 0) for a socket of ours: the server sees a reset if it still sends
            await writing;
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

    private sealed class Reader(Stream stream, CancellationToken token)
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
                n = await stream.ReadAsync(_buffer.AsMemory(_end), token);
            }
            catch (IOException)
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
