package sftpserver

// StagingDir is the staging folder's name, for the tests to look into.
const StagingDir = stagingDir
