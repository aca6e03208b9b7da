/** Test fixtures: a real etcd launcher and JUnit 5 extension. */
package io.krpc.testing;
