using System;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>What <see cref="ConflictResolution.ResolveAsync"/> decided: the name to deliver under, or to skip the transfer.</summary>
    internal readonly struct ConflictOutcome
    {
        public ConflictOutcome(Uri final, bool skip)
        {
            Final = final;
            Skip = skip;
        }

        /// <summary>Where to deliver (for a skip: the existing file that stays).</summary>
        public Uri Final { get; }

        /// <summary>True when the existing file stays and nothing is transferred (<see cref="ConflictPolicy.Skip"/>).</summary>
        public bool Skip { get; }
    }

    /// <summary>The conflict policy: what a transfer does when its destination's name is taken.</summary>
    internal static class ConflictResolution
    {
        /// <summary>The most names <see cref="ConflictPolicy.Rename"/> tries (<c>name (1).ext</c> up to this).</summary>
        internal const int MaxRenames = 9999;

        /// <summary>
        /// Decides where a file goes whose destination <paramref name="final"/> holds <paramref name="existing"/>: a folder is
        /// never replaced; <see cref="ConflictPolicy.Overwrite"/> keeps the name, <see cref="ConflictPolicy.Skip"/> skips,
        /// <see cref="ConflictPolicy.Rename"/> takes the first free <c>name (n).ext</c>, <see cref="ConflictPolicy.Fail"/> refuses.
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.Conflict"/>: <c>DestinationIsFolder</c> or <c>DestinationExists</c>.</exception>
        internal static async Task<ConflictOutcome> ResolveAsync(ConflictPolicy policy, ITransferEndpoint destination, OperationContext context,
            TransferOptions options, Uri final, RemoteFileInfo existing)
        {
            var display = TransferLocation.Display(final);
            if (existing.IsDirectory)
            {
                throw new PluginException(ErrorCode.Conflict, $"'{display}' is a folder; a file cannot be delivered under that name.",
                    errorId: "DestinationIsFolder", target: display);
            }

            switch (policy)
            {
                case ConflictPolicy.Overwrite:
                    return new ConflictOutcome(final, skip: false);
                case ConflictPolicy.Skip:
                    context.Logger.Log(LogLevel.Verbose, $"'{display}' exists; skipped (-Conflict Skip).");
                    return new ConflictOutcome(final, skip: true);
                case ConflictPolicy.Rename:
                    for (var n = 1; n <= MaxRenames; n++)
                    {
                        var candidate = TransferLocation.Renamed(final, n);
                        if (!(await destination.GetInfoAsync(context, candidate, options).ConfigureAwait(false)).Exists)
                        {
                            return new ConflictOutcome(candidate, skip: false);
                        }
                    }

                    throw new PluginException(ErrorCode.Conflict, $"No free name found beside '{display}'.", errorId: "DestinationExists", target: display);
                default:
                    throw new PluginException(ErrorCode.Conflict,
                        $"'{display}' exists already. Use -Force or -Conflict Overwrite to replace it, -Conflict Rename to keep both, or -Conflict Skip.",
                        errorId: "DestinationExists", target: display);
            }
        }
    }
}
