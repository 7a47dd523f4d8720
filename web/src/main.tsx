import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { RouterProvider } from '@tanstack/react-router'
import { Problem } from './api/client'
import { restore } from './auth'
import { servicesQuery, shopQuery, staffQuery } from './data'
import { router } from './routes'
import './styles.css'

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx will not change by asking again; a network error might.
      retry: (count, error) => count < 2 && error instanceof Problem && error.status === 0,
      refetchOnWindowFocus: false,
    },
  },
})

// What every page needs, asked for at once rather than one after the other as React renders.
void queryClient.prefetchQuery(servicesQuery)
void queryClient.prefetchQuery(staffQuery)
void restore()

// The first render waits for the shop (its zone, its name) instead of suspending on it: a
// suspended tree is revealed late (React throttles fallbacks), which a slow phone feels.
void queryClient.prefetchQuery(shopQuery).finally(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} context={{ queryClient }} />
      </QueryClientProvider>
    </StrictMode>,
  ),
)
