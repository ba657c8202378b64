using System;

namespace TransferTools.Abstractions
{
    /// <summary>What kind of failure a <see cref="PluginError"/> reports.</summary>
    /// <remarks>Cmdlets map each code to one PowerShell <c>ErrorCategory</c>; the mapping is part of the contract.</remarks>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum ErrorCode
    {
        /// <summary>Nothing more specific is known (ErrorCategory NotSpecified).</summary>
        Unknown = 0,
        /// <summary>An argument, id, name, prefix or path is not acceptable (InvalidArgument).</summary>
        InvalidArgument,
        /// <summary>A plugin's configuration is missing a key or has a bad value (InvalidArgument).</summary>
        InvalidConfiguration,
        /// <summary>The item, file, transfer or remote object does not exist (ObjectNotFound).</summary>
        NotFound,
        /// <summary>The thing to create exists already (ResourceExists).</summary>
        AlreadyExists,
        /// <summary>The caller is known but not allowed to do this (PermissionDenied).</summary>
        PermissionDenied,
        /// <summary>No valid identity: not connected, wrong password, bad/expired/revoked token (AuthenticationError).</summary>
        AuthenticationFailed,
        /// <summary>Too many failed attempts; try again later (LimitsExceeded).</summary>
        Throttled,
        /// <summary>A server could not be reached or dropped the connection (ConnectionError). Transient.</summary>
        ConnectionError,
        /// <summary>An operation made no progress within its time limit (OperationTimeout). Transient.</summary>
        Timeout,
        /// <summary>The operation was cancelled (OperationStopped).</summary>
        Cancelled,
        /// <summary>Data failed verification: a SHA-256 or chunk checksum did not match (InvalidResult).</summary>
        ChecksumMismatch,
        /// <summary>The source changed since the transfer began, so it cannot be resumed (InvalidData).</summary>
        SourceChanged,
        /// <summary>The destination exists and the conflict policy forbids replacing it (ResourceExists).</summary>
        Conflict,
        /// <summary>The plugin does not support this operation (NotImplemented).</summary>
        NotSupported,
        /// <summary>A size, count or quota limit was exceeded (LimitsExceeded).</summary>
        LimitExceeded,
        /// <summary>A server's identity (SSH host key, TLS certificate) was not the expected one (SecurityError).</summary>
        SecurityError,
        /// <summary>No plugin of that name or type is registered or built in (ObjectNotFound).</summary>
        PluginNotFound,
        /// <summary>A plugin failed in Init or Shutdown, or was used outside its lifecycle (ResourceUnavailable).</summary>
        LifecycleError,
        /// <summary>The operation is not valid in the object's current state, e.g. resuming a completed transfer (InvalidOperation).</summary>
        InvalidState,
        /// <summary>A bug or unexpected failure inside a plugin or the engine (NotSpecified).</summary>
        Internal,
    }

    /// <summary>A plugin failure: a code, a message for people, and the cause.</summary>
    public sealed class PluginError
    {
        /// <summary>Creates an error.</summary>
        public PluginError(ErrorCode code, string message, Exception? cause = null)
        {
            Code = code;
            Message = message ?? "";
            Cause = cause;
        }

        /// <summary>What kind of failure this is.</summary>
        public ErrorCode Code { get; }
        /// <summary>A message for people; never contains a secret.</summary>
        public string Message { get; }
        /// <summary>The underlying exception, if any.</summary>
        public Exception? Cause { get; }

        /// <summary>Formats as <c>[code] message: cause</c>.</summary>
        public override string ToString() =>
            Cause is null ? $"[{Code}] {Message}" : $"[{Code}] {Message}: {Cause.Message}";
    }

    /// <summary>
    /// The exception every plugin and the engine throw for an expected failure.
    /// Cmdlets turn it into an <c>ErrorRecord</c> whose ErrorId is <see cref="ErrorId"/>.
    /// </summary>
    public class PluginException : Exception
    {
        /// <summary>Creates an exception from a <see cref="PluginError"/>.</summary>
        public PluginException(PluginError error, string? errorId = null, object? target = null)
            : base(error.Message, error.Cause)
        {
            Error = error;
            ErrorId = string.IsNullOrEmpty(errorId) ? error.Code.ToString() : errorId!;
            Target = target;
        }

        /// <summary>Creates an exception from a code and message.</summary>
        public PluginException(ErrorCode code, string message, Exception? cause = null, string? errorId = null, object? target = null)
            : this(new PluginError(code, message, cause), errorId, target)
        {
        }

        /// <summary>The error: code, message and cause.</summary>
        public PluginError Error { get; }
        /// <summary>Shorthand for <c>Error.Code</c>.</summary>
        public ErrorCode Code => Error.Code;
        /// <summary>A stable, specific id such as <c>SourceNotFound</c>; defaults to the code's name.</summary>
        public string ErrorId { get; }
        /// <summary>The object the error is about (a path, id, URI or transfer), or null.</summary>
        public object? Target { get; set; }
        /// <summary>The registered name of the plugin that failed, when known.</summary>
        public string? PluginName { get; set; }
        /// <summary>The lifecycle stage or operation that failed (<c>Init</c>, <c>Send</c>, <c>Store</c>, ...), when known.</summary>
        public string? Stage { get; set; }

        /// <summary>True when retrying the same operation later may succeed (connection errors, time-outs).</summary>
        public bool IsTransient => Code == ErrorCode.ConnectionError || Code == ErrorCode.Timeout;

        /// <summary>The message, prefixed with plugin and stage when known.</summary>
        public override string Message
        {
            get
            {
                var prefix = PluginName is null ? "" : Stage is null ? $"{PluginName}: " : $"{PluginName} ({Stage}): ";
                return prefix + Error.Message;
            }
        }

        /// <inheritdoc/>
        public override string ToString() => Error.ToString();
    }
}
