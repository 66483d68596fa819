import type {Toolset} from '../registry.ts'
import {createPostgresDatabase} from './create-postgres-database.ts'
import {createPostgresRole} from './create-postgres-role.ts'
import {deletePostgresDatabase} from './delete-postgres-database.ts'
import {deletePostgresRole} from './delete-postgres-role.ts'
import {getConnectionInfo} from './get-connection-info.ts'
import {getPostgresDatabaseStatus} from './get-postgres-database-status.ts'
import {getPostgresRoleStatus} from './get-postgres-role-status.ts'
import {listPostgresDatabases} from './list-postgres-databases.ts'
import {listPostgresRoles} from './list-postgres-roles.ts'
import {updatePostgresRole} from './update-postgres-role.ts'

/** PostgreSQL roles and databases of CNPG clusters, and how to connect to them. */
export const postgresToolset: Toolset = {
  name: 'postgres',
  description: 'PostgreSQL roles (DatabaseRole) and databases (Database) of CloudNativePG clusters, and connection information',
  tools: [
    listPostgresRoles,
    getPostgresRoleStatus,
    createPostgresRole,
    updatePostgresRole,
    deletePostgresRole,
    listPostgresDatabases,
    getPostgresDatabaseStatus,
    createPostgresDatabase,
    deletePostgresDatabase,
    getConnectionInfo,
  ],
}
