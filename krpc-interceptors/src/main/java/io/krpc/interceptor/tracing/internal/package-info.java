/** Implementation of the tracing interceptors; not a public API, may change at any time. */
package io.krpc.interceptor.tracing.internal;
