import { mount } from "svelte";
import App from "./App.svelte";
import { createConnection } from "./lib/connection.svelte.js";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html lost its #app element");

// The one socket of the app, wired to the browser's real WebSocket and the page's location.
const connection = createConnection({ WebSocket, location: window.location });

mount(App, { target, props: { connection } });
