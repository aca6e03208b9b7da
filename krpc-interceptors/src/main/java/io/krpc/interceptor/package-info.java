/** Governance interceptors for grpc-java: see the server and client subpackages. */
package io.krpc.interceptor;
