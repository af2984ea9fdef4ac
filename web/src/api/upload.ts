/**
 * Document upload through XMLHttpRequest, the one browser API that reports upload
 * progress. A 401 is retried once after a token refresh, like every other request.
 */
import { type ApiClient, ApiError, NetworkError } from "./client";
import type { DocumentItem, Problem } from "./types";

function parseProblem(xhr: XMLHttpRequest): Problem {
  try {
    return JSON.parse(xhr.responseText) as Problem;
  } catch {
    return { status: xhr.status, detail: xhr.statusText || `upload failed (${xhr.status})` };
  }
}

function once(
  token: string,
  form: FormData,
  onProgress: (fraction: number) => void,
): Promise<XMLHttpRequest> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/documents");
    xhr.setRequestHeader("authorization", `Bearer ${token}`);
    xhr.setRequestHeader("accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new NetworkError(new Error("upload failed")));
    xhr.onabort = () => reject(new NetworkError(new Error("upload aborted")));
    xhr.send(form);
  });
}

/**
 * Uploads `file` into `topic` (of `dealershipId`, which a super admin names); resolves the
 * queued document, throws ApiError (409 duplicate…).
 */
export async function uploadDocument(
  client: ApiClient,
  file: File,
  topic: string,
  onProgress: (fraction: number) => void,
  dealershipId?: string,
): Promise<DocumentItem> {
  const form = new FormData();
  form.append("topic", topic);
  if (dealershipId) form.append("dealership_id", dealershipId);
  form.append("file", file, file.name);
  let xhr = await once(await client.accessToken(), form, onProgress);
  if (xhr.status === 401 && (await client.refresh())) {
    xhr = await once(await client.accessToken(), form, onProgress);
  }
  if (xhr.status < 200 || xhr.status >= 300) throw new ApiError(xhr.status, parseProblem(xhr));
  onProgress(1);
  return JSON.parse(xhr.responseText) as DocumentItem;
}
