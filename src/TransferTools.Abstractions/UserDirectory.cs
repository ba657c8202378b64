using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace TransferTools.Abstractions
{
    /// <summary>What <c>Get-TransferUser</c> shows for one user. Never a password or hash.</summary>
    public sealed class UserInfo
    {
        /// <summary>The sign-in name.</summary>
        public string Name { get; set; } = "";
        /// <summary>The stable id (carried as UserId in every operation context).</summary>
        public string Id { get; set; } = "";
        /// <summary>The roles (Reader, Contributor, Owner, Admin).</summary>
        public string[] Roles { get; set; } = Array.Empty<string>();
        /// <summary>The resource scopes the user is limited to; empty means no limit beyond the roles.</summary>
        public string[] Scopes { get; set; } = Array.Empty<string>();
        /// <summary>False when the account is disabled.</summary>
        public bool Enabled { get; set; } = true;
        /// <summary>When the user was created.</summary>
        public DateTimeOffset CreatedAt { get; set; }
        /// <summary>When the password last changed (tokens issued before are refused).</summary>
        public DateTimeOffset PasswordChangedAt { get; set; }
        /// <summary>The last successful sign-in, or null.</summary>
        public DateTimeOffset? LastSignInAt { get; set; }
        /// <summary>Failed sign-ins since the last success.</summary>
        public int FailedSignIns { get; set; }
        /// <summary>Until when sign-in is refused after repeated failures, or null.</summary>
        public DateTimeOffset? LockedUntil { get; set; }
        /// <summary>The auth plugin registration the user belongs to.</summary>
        public string Plugin { get; set; } = "";

        /// <inheritdoc/>
        public override string ToString() => Name;
    }

    /// <summary>Changes to a user; null members stay as they are.</summary>
    public sealed class UserChange
    {
        /// <summary>A new password.</summary>
        public string? Password { get; set; }
        /// <summary>New roles (replace the old ones).</summary>
        public IReadOnlyList<string>? Roles { get; set; }
        /// <summary>New scopes (replace the old ones; empty removes every limit).</summary>
        public IReadOnlyList<string>? Scopes { get; set; }
        /// <summary>Enable or disable the account.</summary>
        public bool? Enabled { get; set; }
        /// <summary>Clears the failed sign-in counter and any lockout.</summary>
        public bool Unlock { get; set; }
    }

    /// <summary>
    /// User administration, offered by an auth plugin that keeps its own users (as the built-in LocalUsers does). The
    /// user cmdlets (<c>Get-TransferUser</c>, <c>New-TransferUser</c>, <c>Set-TransferUser</c>, <c>Remove-TransferUser</c>)
    /// work with any registered auth plugin that implements it. The engine authorizes every call (Admin on
    /// <c>users/NAME</c>, or, while <see cref="HasUsersAsync"/> is false, the bootstrap rule that lets the first user be
    /// created) before it reaches the plugin, and fills in <see cref="UserInfo.Plugin"/>.
    /// </summary>
    public interface IUserDirectory
    {
        /// <summary>True when at least one user exists.</summary>
        Task<bool> HasUsersAsync(OperationContext context);

        /// <summary>Every user, by name.</summary>
        Task<IReadOnlyList<UserInfo>> ListUsersAsync(OperationContext context);

        /// <summary>Creates a user.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.AlreadyExists"/>, or <see cref="ErrorCode.InvalidArgument"/> for a bad name, password, role or scope.</exception>
        Task<UserInfo> CreateUserAsync(OperationContext context, string name, string password, IReadOnlyList<string> roles, IReadOnlyList<string> scopes);

        /// <summary>Changes a user.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.NotFound"/> when there is no such user.</exception>
        Task<UserInfo> UpdateUserAsync(OperationContext context, string name, UserChange change);

        /// <summary>Removes a user; their tokens stop working at once.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.NotFound"/> when there is no such user.</exception>
        Task RemoveUserAsync(OperationContext context, string name);
    }
}
