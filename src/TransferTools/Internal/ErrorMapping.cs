using System;
using System.Management.Automation;
using TransferTools.Abstractions;

namespace TransferTools.Internal
{
    /// <summary>Turns engine exceptions into <see cref="ErrorRecord"/>s with stable ErrorIds and fitting categories.</summary>
    public static class ErrorMapping
    {
        /// <summary>The PowerShell category for a seed error code.</summary>
        public static ErrorCategory ToCategory(ErrorCode code) => code switch
        {
            ErrorCode.InvalidArgument => ErrorCategory.InvalidArgument,
            ErrorCode.InvalidConfiguration => ErrorCategory.InvalidArgument,
            ErrorCode.NotFound => ErrorCategory.ObjectNotFound,
            ErrorCode.PluginNotFound => ErrorCategory.ObjectNotFound,
            ErrorCode.AlreadyExists => ErrorCategory.ResourceExists,
            ErrorCode.Conflict => ErrorCategory.ResourceExists,
            ErrorCode.PermissionDenied => ErrorCategory.PermissionDenied,
            ErrorCode.AuthenticationFailed => ErrorCategory.AuthenticationError,
            ErrorCode.Throttled => ErrorCategory.LimitsExceeded,
            ErrorCode.LimitExceeded => ErrorCategory.LimitsExceeded,
            ErrorCode.ConnectionError => ErrorCategory.ConnectionError,
            ErrorCode.Timeout => ErrorCategory.OperationTimeout,
            ErrorCode.Cancelled => ErrorCategory.OperationStopped,
            ErrorCode.ChecksumMismatch => ErrorCategory.InvalidResult,
            ErrorCode.SourceChanged => ErrorCategory.InvalidData,
            ErrorCode.NotSupported => ErrorCategory.NotImplemented,
            ErrorCode.SecurityError => ErrorCategory.SecurityError,
            ErrorCode.LifecycleError => ErrorCategory.ResourceUnavailable,
            ErrorCode.InvalidState => ErrorCategory.InvalidOperation,
            _ => ErrorCategory.NotSpecified,
        };

        /// <summary>An error record for <paramref name="exception"/>; <paramref name="fallbackTarget"/> when the exception names none.</summary>
        public static ErrorRecord ToErrorRecord(Exception exception, object? fallbackTarget = null)
        {
            if (exception is AggregateException aggregate && aggregate.InnerExceptions.Count == 1)
            {
                exception = aggregate.InnerExceptions[0];
            }

            switch (exception)
            {
                case PluginException pe:
                    return new ErrorRecord(pe, pe.ErrorId, ToCategory(pe.Code), pe.Target ?? fallbackTarget);
                case OperationCanceledException oce:
                    return new ErrorRecord(oce, "OperationCancelled", ErrorCategory.OperationStopped, fallbackTarget);
                case UnauthorizedAccessException uae:
                    return new ErrorRecord(uae, "AccessDenied", ErrorCategory.PermissionDenied, fallbackTarget);
                case System.IO.FileNotFoundException fnf:
                    return new ErrorRecord(fnf, "FileNotFound", ErrorCategory.ObjectNotFound, fnf.FileName ?? fallbackTarget);
                case System.IO.DirectoryNotFoundException dnf:
                    return new ErrorRecord(dnf, "DirectoryNotFound", ErrorCategory.ObjectNotFound, fallbackTarget);
                case System.IO.IOException io:
                    return new ErrorRecord(io, "IOError", ErrorCategory.WriteError, fallbackTarget);
                case ArgumentException ae:
                    return new ErrorRecord(ae, "InvalidArgument", ErrorCategory.InvalidArgument, fallbackTarget);
                default:
                    return new ErrorRecord(exception, "UnexpectedError", ErrorCategory.NotSpecified, fallbackTarget);
            }
        }
    }
}
