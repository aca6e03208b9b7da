/** Implementation details of the KRPC interceptors; not an API, may change at any time. */
package io.krpc.interceptor.internal;
