/*
 * tags.h - the tag names SmartVault writes and reads on snapshots, copies, restored volumes and drills
 * (DESIGN.md §3, §4). One place, so a job, the restore commands and the coverage page agree on every name.
 */
#ifndef SV_BACKUP_TAGS_H
#define SV_BACKUP_TAGS_H

/* Snapshots and DR copies. */
#define TAG_CREATED_BY "CreatedBy"
#define TAG_CREATED_BY_VALUE "SmartVault"
#define TAG_INSTANCE_ID "InstanceId"
#define TAG_CREATED_ON "CreatedOn"
#define TAG_NAME "Name"
#define TAG_RUN_ID "SmartVault:RunId"
#define TAG_HOLD "SmartVault:Hold"
#define TAG_SOURCE_SNAPSHOT_ID "SourceSnapshotId"
#define TAG_SOURCE_REGION "SourceRegion"
#define TAG_VOLUME_ID "VolumeId"
#define TAG_RETENTION "retention"

/* Restores and drills. */
#define TAG_DEVICE "SmartVault:Device"
#define TAG_SOURCE_RUN_ID "SmartVault:SourceRunId"
#define TAG_RESTORE_OF "SmartVault:RestoreOf"
#define TAG_RESTORED_FROM "SmartVault:RestoredFrom"
#define TAG_DRILL "SmartVault:Drill"

#endif
