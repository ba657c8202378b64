// TransferManager.cs still names FileSystemProtocolPlugin, which moved to BuiltIn/FileSystem. The capability
// interfaces of issue 26 (item 4) remove that reference; until they land this keeps the file compiling unedited.
// Delete this file together with the engine's last reference to the FileSystem plugin's class.
global using TransferTools.Engine.BuiltIn.FileSystem;
